using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Identity;
using MarketplaceMetering.Emulator;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Tests.Docs;

/// <summary>
/// The C# shown in docs/*.md. Each region is copied into a page under a <c>&lt;!-- snippet: name --&gt;</c> marker;
/// <see cref="DocSnippetTests"/> fails when a page and its region differ, so the docs always compile.
/// </summary>
internal static class DocSnippets
{
    public static MeteringClient ClientSecret()
    {
        #region auth-client-secret
        // The tenant and app (client) id are those of the offer's technical configuration in Partner Center.
        TokenCredential credential = MeteringCredential.FromClientSecret(
            tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
            clientId: "0b7a2d4e-1111-4222-8333-944455556666",
            clientSecret: Environment.GetEnvironmentVariable("METERING_CLIENT_SECRET") ?? "<secret>");

        var client = new MeteringClient(credential);
        #endregion
        return client;
    }

    public static MeteringClient Certificate(string pfxPath, string pfxPassword)
    {
        #region auth-certificate
        X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12FromFile(pfxPath, pfxPassword);

        var client = new MeteringClient(MeteringCredential.FromClientCertificate(
            tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
            clientId: "0b7a2d4e-1111-4222-8333-944455556666",
            certificate));
        #endregion
        return client;
    }

    public static (MeteringClient SystemAssigned, MeteringClient UserAssigned) ManagedIdentity()
    {
        #region auth-managed-identity
        // Code running inside the managed application's resources (VM, Functions, App Service, containers):
        var systemAssigned = new MeteringClient(MeteringCredential.FromManagedIdentity());

        // Or a user-assigned identity, by its client id:
        var userAssigned = new MeteringClient(MeteringCredential.FromManagedIdentity("5a8d0e7f-2222-4333-8444-955566667777"));
        #endregion
        return (systemAssigned, userAssigned);
    }

    public static MeteringClient AnyCredential()
    {
        #region auth-any-credential
        // Any Azure.Core TokenCredential works: workload identity, Azure CLI for local runs, a chain of them...
        TokenCredential credential = new ChainedTokenCredential(
            new WorkloadIdentityCredential(),
            new AzureCliCredential());

        var client = new MeteringClient(credential);
        #endregion
        return client;
    }

    public static MeteringClient CustomHttpClient(HttpClient httpClientFromFactory, TokenCredential credential, ILoggerFactory loggerFactory)
    {
        #region auth-options
        var options = new MeteringClientOptions
        {
            LoggerFactory = loggerFactory,              // requests, retries and token refreshes; never tokens
            NetworkTimeout = TimeSpan.FromSeconds(30),  // per attempt
        };
        options.Retry.MaxRetries = 5;

        // Bring your own HttpClient (from IHttpClientFactory, say): you own it and its handler's TLS settings.
        var client = new MeteringClient(httpClientFromFactory, credential, options);
        #endregion
        return client;
    }

    public static async Task<string> HandleResultAsync(MeteringClient client, Guid subscriptionId, DateTimeOffset hourStart)
    {
        #region results-switch
        var usage = UsageEvent.ForResourceId(subscriptionId, planId: "gold", dimension: "emails", quantity: 1250, effectiveStartTime: hourStart);

        UsageEventResult result = await client.SubmitUsageEventAsync(usage);

        string outcome = result switch
        {
            UsageEventResult.Accepted accepted => $"billed as {accepted.UsageEventId}",
            UsageEventResult.Duplicate { IsReplay: true } => "already billed: this very event was recorded before",
            UsageEventResult.Duplicate conflict => $"not billed: the hour already holds {conflict.Original?.Quantity} units",
            UsageEventResult.Expired => "not billed: older than 24 hours",
            UsageEventResult.Failure failure => $"rejected: {failure.Status} {failure.Code}: {failure.Message}",
            _ => $"unknown outcome {result.Status}; keep the event and look into it",
        };
        #endregion
        return outcome;
    }

    public static async Task<List<UsageEvent>> HandleBatchAsync(MeteringClient client, IReadOnlyList<UsageEvent> events)
    {
        #region results-batch
        BatchUsageEventResult batch = await client.SubmitBatchUsageEventAsync(events); // 1 to 25 events

        var needAttention = new List<UsageEvent>();
        foreach (UsageEventResult item in batch.Results)  // one per event, in the order given
        {
            if (!item.IsDelivered)                         // accepted, or a replayed duplicate, is delivered
            {
                needAttention.Add(item.Event);
            }
        }
        #endregion
        return needAttention;
    }

    public static async Task<string> HandleExceptionsAsync(MeteringClient client, UsageEvent usage)
    {
        #region errors-exceptions
        try
        {
            var result = await client.SubmitUsageEventAsync(usage);
            return result.Status.ToString();
        }
        catch (ArgumentException e)
        {
            // The event is outside the 24-hour window or in the future: nothing was sent.
            return "invalid: " + e.Message;
        }
        catch (MeteringAuthorizationException e)
        {
            // 403: wrong tenant or app, a token for another resource, or a resource sold under another publisher app.
            return $"refused (HTTP {e.StatusCode}, request {e.RequestId}): {e.Message}";
        }
        catch (MeteringException e) when (e.IsRetryable)
        {
            // Throttling, server errors, timeouts that outlasted the retries: keep the usage and submit it again later.
            // Submitting again is safe: what was recorded comes back as a replayed Duplicate.
            return $"try later (HTTP {e.StatusCode?.ToString() ?? "none"}, request {e.RequestId})";
        }
        #endregion
    }

    public static async Task<(UsageEventResult First, UsageEventResult Again, int Recorded)> EmulatorWithClientAsync()
    {
        #region emulator-with-client
        await using var emulator = await MeteringEmulator.StartAsync();
        using var client = new MeteringClient(emulator.Credential, new MeteringClientOptions { Endpoint = emulator.Endpoint });
        var usage = UsageEvent.ForResourceId(Guid.NewGuid(), "gold", "api-calls", 12, DateTimeOffset.UtcNow.AddMinutes(-5));

        var first = await client.SubmitUsageEventAsync(usage);   // Accepted
        var again = await client.SubmitUsageEventAsync(usage);   // Duplicate, IsReplay: true

        // The emulator's ledger is what the "service" recorded: exactly one event.
        int recorded = emulator.Ledger.Count;
        #endregion
        return (first, again, recorded);
    }

    public static MeteringEmulatorOptions EmulatorCatalogue(Guid saasSubscriptionId, Guid resourceUsageId)
    {
        #region emulator-catalogue
        var options = new MeteringEmulatorOptions();
        options.Resources.Add(new EmulatedResource                 // a SaaS subscription
        {
            ResourceId = saasSubscriptionId,
            PlanId = "gold",
            Dimensions = ["api-calls", "storage-gb"],
        });
        options.Resources.Add(new EmulatedResource                 // a managed application
        {
            ResourceId = resourceUsageId,                          // what the service answers with
            ResourceUri = "/subscriptions/…/resourceGroups/…/providers/Microsoft.Solutions/applications/contoso",
            PlanId = "standard",
            Dimensions = ["cpu-hours"],
            Status = EmulatedResourceStatus.Suspended,             // answered with ResourceNotActive
            OfferId = "contoso-offer", OfferName = "Contoso", PlanName = "Standard",
        });
        #endregion
        return options;
    }

    public static void EmulatorFaults(MeteringEmulator emulator)
    {
        #region emulator-faults
        emulator.Faults.Enqueue(EmulatorFault.Throttle(TimeSpan.FromSeconds(2)), EmulatorFault.None, EmulatorFault.DropAfterAccept());
        emulator.Faults.Settings.ServerErrorProbability = 0.1;      // at run time
        emulator.Faults.Reset();                                    // empty queue, zero probabilities
        #endregion
    }

    public static async Task<UsageEventSummary> SubmitUntilSettledAsync(MeteringClient client, IReadOnlyList<UsageEvent> hourlyUsage, ILogger logger)
    {
        #region reliability-feedback
        // One result per event, in input order; batches of 25, 4 in flight (MeteringClientOptions.MaxConcurrency).
        BulkUsageEventResult bulk = await client.SubmitUsageEventsAsync(hourlyUsage);
        logger.LogInformation("Metering: {Summary}", bulk.Summary);   // "1200 events: 1198 delivered (...), 2 Error; ..."

        // Errors and unknown outcomes are safe to send again: what was recorded comes back as a replay.
        IReadOnlyList<UsageEvent> retry = bulk.Summary.Retryable;
        for (int attempt = 1; retry.Count > 0 && attempt <= 3; attempt++)
        {
            var again = await client.SubmitUsageEventsAsync(retry);
            logger.LogInformation("Metering retry {Attempt}: {Summary}", attempt, again.Summary);
            retry = again.Summary.Retryable;
        }

        // Conflicts and expired events need a person, not a retry.
        foreach (var result in bulk.Summary.NeedsAttention.Where(r => r is UsageEventResult.Duplicate or UsageEventResult.Expired))
        {
            logger.LogWarning("Metering: {Status} for {Event}", result.Status, result.Event);
        }
        #endregion
        return bulk.Summary;
    }

    #region testing-mock
    // In your own tests: derive from MeteringClient (its methods are virtual) and answer with the model factory.
    private sealed class AlwaysDuplicateClient : MeteringClient
    {
        public override Task<UsageEventResult> SubmitUsageEventAsync(UsageEvent usageEvent, CancellationToken cancellationToken = default) =>
            Task.FromResult<UsageEventResult>(MeteringModelFactory.Duplicate(
                usageEvent,
                MeteringModelFactory.AcceptedUsageEvent(usageEvent)));   // the original is this very event: a replay
    }
    #endregion

    public static MeteringClient Mock() => new AlwaysDuplicateClient();
}
