using System.CommandLine;
using System.Globalization;
using MarketplaceMetering.Cli.CommandLine;
using MarketplaceMetering.Cli.Input;
using MarketplaceMetering.Cli.Output;
using Spectre.Console;

namespace MarketplaceMetering.Cli.Commands;

/// <summary><c>metering emit</c>: reports one usage event and prints its typed result.</summary>
internal static class EmitCommand
{
    public static Command Create(GlobalOptions global, CliContext context)
    {
        var resourceId = new Option<string>("--resource-id") { Description = "The SaaS subscription id (a GUID). Give this or --resource-uri." };
        var resourceUri = new Option<string>("--resource-uri") { Description = "The managed application's resource id (/subscriptions/…/providers/Microsoft.Solutions/applications/…)." };
        var plan = new Option<string>("--plan") { Description = "The plan id.", Required = true };
        var dimension = new Option<string>("--dimension") { Description = "The custom meter dimension.", Required = true };
        var quantity = new Option<string>("--quantity") { Description = "How much was used, more than 0 (12.5).", Required = true };
        var time = new Option<string>("--time") { Description = "When the usage began, ISO 8601 with a zone (2026-11-20T10:00:00Z); default: the start of the current hour.", HelpName = "TIME" };
        var command = new Command("emit", "Report one usage event and print what the service made of it.") { resourceId, resourceUri, plan, dimension, quantity, time };

        MeteringCli.SetAction(command, global, context, async (parse, output, cancellationToken) =>
        {
            var quantityText = parse.GetValue(quantity)!;
            if (!decimal.TryParse(quantityText, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var amount))
            {
                throw new CliException($"--quantity '{Messages.Shown(quantityText)}' is not a number (use a dot for decimals: 12.5).");
            }

            DateTimeOffset start;
            if (parse.GetValue(time) is { } timeText)
            {
                start = TimeText.ParseInstant(timeText, out var problem) ?? throw new CliException("--time " + problem + ".");
            }
            else
            {
                var now = context.TimeProvider.GetUtcNow();
                start = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);
            }

            var id = parse.GetValue(resourceId);
            var uri = parse.GetValue(resourceUri);
            Messages.RefuseUnsafeOptions([("--plan", parse.GetValue(plan)), ("--dimension", parse.GetValue(dimension)), ("--resource-uri", uri)], "nothing was sent");

            if ((id is null) == (uri is null))
            {
                throw new CliException("Give exactly one of --resource-id and --resource-uri.");
            }

            UsageEvent usage;
            if (id is not null)
            {
                if (!Guid.TryParse(id, out var guid))
                {
                    throw new CliException($"--resource-id '{Messages.Shown(id)}' is not a GUID.");
                }

                usage = UsageEvent.ForResourceId(guid, parse.GetValue(plan)!, parse.GetValue(dimension)!, amount, start);
            }
            else
            {
                usage = UsageEvent.ForResourceUri(uri!, parse.GetValue(plan)!, parse.GetValue(dimension)!, amount, start);
            }

            using var client = global.CreateClient(parse, context);
            UsageEventResult result;
            try
            {
                result = await client.SubmitUsageEventAsync(usage, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The request may have left: a bare "cancelled" would read as "not sent".
                await context.Error.WriteLineAsync(
                    "error: cancelled before the service answered; the event may or may not have reached it. Sending it again is safe: a recorded event comes back as a replayed Duplicate.")
                    .ConfigureAwait(false);
                return ExitCodes.Cancelled;
            }

            var view = ResultView.Of(result);
            output.Outcome = $"the event was {(view.Delivered ? "delivered" : "not delivered")} ({view.Status})";
            if (output.Json)
            {
                output.WriteJson(view);
            }
            else
            {
                var table = CliOutput.Table("Field", "Value");
                table.AddRow(new Text("Status"), CliOutput.Status(view.Status, view.Delivered));
                CliOutput.AddRow(table, "Delivered", view.Delivered ? "yes" : "no");
                CliOutput.AddRow(table, "Usage event id", view.UsageEventId?.ToString("D"));
                CliOutput.AddRow(table, "Resource", view.Resource);
                CliOutput.AddRow(table, "Plan", view.PlanId);
                CliOutput.AddRow(table, "Dimension", view.Dimension);
                CliOutput.AddRow(table, "Quantity", CliOutput.Number(view.Quantity));
                CliOutput.AddRow(table, "Effective start time", view.EffectiveStartTime);
                if (view.Code is not null || view.Message is not null)
                {
                    CliOutput.AddRow(table, "Code", view.Code);
                    CliOutput.AddRow(table, "Message", view.Message);
                }

                CliOutput.AddRow(table, "Request id", view.RequestId);
                output.Console.Write(table);
            }

            return result.IsDelivered ? ExitCodes.Success : BatchCommand.IsRefusal(result) ? ExitCodes.Unauthorized : ExitCodes.PartialDelivery;
        });

        return command;
    }
}
