using System.Text.Json;
using MarketplaceMetering.Emulator.Api;
using MarketplaceMetering.Emulator.Hosting;
using MarketplaceMetering.Emulator.Rules;
using MarketplaceMetering.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace MarketplaceMetering.Emulator.Admin;

/// <summary>
/// The emulator's own control routes, under <c>/emulator</c>, with the same bearer token and no faults:
/// <c>GET/PUT/DELETE /emulator/faults</c>, <c>POST /emulator/faults/queue</c>, <c>GET/DELETE /emulator/ledger</c>,
/// <c>PUT /emulator/resources/status</c> and <c>PUT /emulator/reconciliation</c> (what <see cref="MeteringEmulator.SetResourceStatus"/>
/// and <see cref="MeteringEmulator.SetReconciliation"/> do in process). They are not in the request log.
/// </summary>
internal sealed class AdminApi(EmulatorState state)
{
    public const string FaultsPath = "/emulator/faults";
    public const string FaultQueuePath = "/emulator/faults/queue";
    public const string LedgerPath = "/emulator/ledger";
    public const string ResourceStatusPath = "/emulator/resources/status";
    public const string ReconciliationPath = "/emulator/reconciliation";
    private const string Target = "emulator";

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var ids = RequestIds.From(request);
        try
        {
            ApiResponse response;
            if (!state.Token.Authorizes(request))
            {
                response = ApiResponse.Json(403, ServiceErrorWriter.Forbidden());
            }
            else
            {
                var body = await RequestBodyReader.ReadAsync(request, state.MaxRequestBodyBytes, context.RequestAborted).ConfigureAwait(false);
                response = Route(request, body);
            }

            await response.WriteAsync(context, ids, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException)
        {
            // The client went away.
            context.Abort();
        }
    }

    private ApiResponse Route(HttpRequest request, RequestBody body)
    {
        var path = request.Path.Value?.TrimEnd('/') ?? string.Empty;
        var method = request.Method;
        if (string.Equals(path, FaultsPath, StringComparison.OrdinalIgnoreCase))
        {
            if (HttpMethods.IsGet(method))
            {
                return CurrentFaults();
            }

            if (HttpMethods.IsPut(method))
            {
                return WithJson(body, root =>
                {
                    if (!FaultSettingsJson.TryRead(root, state.Faults.Settings.Snapshot(), out var updated, out var error))
                    {
                        return BadRequest(error!);
                    }

                    state.Faults.Settings.Apply(updated);
                    return CurrentFaults();
                });
            }

            if (HttpMethods.IsDelete(method))
            {
                state.Faults.Reset();
                return ApiResponse.NoContent();
            }

            return MethodNotAllowed("GET, PUT, DELETE");
        }

        if (string.Equals(path, FaultQueuePath, StringComparison.OrdinalIgnoreCase))
        {
            if (!HttpMethods.IsPost(method))
            {
                return MethodNotAllowed("POST");
            }

            return WithJson(body, root =>
            {
                if (!FaultQueueJson.TryRead(root, out var faults, out var error))
                {
                    return BadRequest(error!);
                }

                state.Faults.Enqueue([.. faults]);
                return CurrentFaults();
            });
        }

        if (string.Equals(path, LedgerPath, StringComparison.OrdinalIgnoreCase))
        {
            if (HttpMethods.IsGet(method))
            {
                return ApiResponse.Json(200, LedgerJson.Write(state.Ledger.Entries));
            }

            if (HttpMethods.IsDelete(method))
            {
                state.Ledger.Clear();
                return ApiResponse.NoContent();
            }

            return MethodNotAllowed("GET, DELETE");
        }

        if (string.Equals(path, ResourceStatusPath, StringComparison.OrdinalIgnoreCase))
        {
            return !HttpMethods.IsPut(method) ? MethodNotAllowed("PUT") : WithJson(body, SetResourceStatus);
        }

        if (string.Equals(path, ReconciliationPath, StringComparison.OrdinalIgnoreCase))
        {
            return !HttpMethods.IsPut(method) ? MethodNotAllowed("PUT") : WithJson(body, SetReconciliation);
        }

        return ApiResponse.Error(404, new ServiceError("NotFound", "No such emulator operation."));
    }

    /// <summary><c>{"resourceId": "…", "status": "Suspended"}</c>.</summary>
    private ApiResponse SetResourceStatus(JsonElement root)
    {
        if (RequiredGuid(root, "resourceId") is not { } resourceId)
        {
            return BadRequest("resourceId must be a GUID.");
        }

        if (!root.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.String
            || !Enum.TryParse<EmulatedResourceStatus>(status.GetString(), ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
        {
            return BadRequest("status must be one of " + string.Join(", ", Enum.GetNames<EmulatedResourceStatus>()) + ".");
        }

        try
        {
            state.Catalogue.SetStatus(resourceId, parsed);
        }
        catch (ArgumentException e)
        {
            return BadRequest(e.Message);
        }

        return ApiResponse.NoContent();
    }

    /// <summary><c>{"resourceId": "…", "dimension": "…", "day": "2026-11-20", "reconStatus": "Rejected", "processedQuantity": 0}</c>.</summary>
    private ApiResponse SetReconciliation(JsonElement root)
    {
        if (RequiredGuid(root, "resourceId") is not { } resourceId)
        {
            return BadRequest("resourceId must be a GUID.");
        }

        if (RequiredText(root, "dimension") is not { } dimension)
        {
            return BadRequest("dimension must be a string.");
        }

        if (RequiredText(root, "day") is not { } dayText
            || !DateTimeOffset.TryParse(dayText, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var day))
        {
            return BadRequest("day must be a date (2026-11-20) or a time in that UTC day.");
        }

        if (RequiredText(root, "reconStatus") is not { } reconStatus)
        {
            return BadRequest("reconStatus must be a string (Submitted, Rejected, Mismatch, Accepted).");
        }

        decimal? processed = null;
        if (root.TryGetProperty("processedQuantity", out var quantity) && quantity.ValueKind != JsonValueKind.Null)
        {
            if (quantity.ValueKind != JsonValueKind.Number || !quantity.TryGetDecimal(out var value))
            {
                return BadRequest("processedQuantity must be a number.");
            }

            processed = value;
        }

        // The values themselves (not empty, not negative) are checked where MeteringEmulator.SetReconciliation checks them.
        try
        {
            state.Reconciliation.Set(resourceId, dimension, day, reconStatus, processed);
        }
        catch (ArgumentException e)
        {
            return BadRequest(e.Message);
        }

        return ApiResponse.NoContent();
    }

    private static Guid? RequiredGuid(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetGuid(out var id) ? id : null;

    private static string? RequiredText(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private ApiResponse CurrentFaults() =>
        ApiResponse.Json(200, FaultSettingsJson.Write(state.Faults.Settings.Snapshot(), state.Faults.Pending));

    private ApiResponse WithJson(RequestBody body, Func<JsonElement, ApiResponse> handle) =>
        BodyErrors.WithJson(body, state.MaxRequestBodyBytes, Target, handle);

    private static ApiResponse BadRequest(string message) =>
        ApiResponse.Error(400, ServiceError.WithDetail(EventStatus.BadArgument, message, Target));

    private static ApiResponse MethodNotAllowed(string allowed) =>
        new(
            405,
            ServiceErrorWriter.ToJson(new ServiceError("MethodNotAllowed", $"This operation accepts {allowed} only.")),
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Allow"] = allowed });
}
