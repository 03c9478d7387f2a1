using Azure.Core;
using MarketplaceMetering;

// Usage: MarketplaceMetering.Aot.TestHost ENDPOINT TOKEN
// Sends a single event, a batch and a bulk submission, then reads the usage back; prints what it got and exits 0 only
// when everything was accepted and reported, as the JIT-compiled client does.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: MarketplaceMetering.Aot.TestHost ENDPOINT TOKEN");
    return 2;
}

using var client = new MeteringClient(new FixedToken(args[1]), new MeteringClientOptions { Endpoint = new Uri(args[0]) });
var hour = DateTimeOffset.UtcNow.AddHours(-1);
UsageEvent Event(int i) => UsageEvent.ForResourceId(new Guid($"a07a07a0-0000-4000-8000-{i:D12}"), "plan1", "dim1", 1.5m + i, hour);

var single = await client.SubmitUsageEventAsync(Event(0));
var batch = await client.SubmitBatchUsageEventAsync([Event(1), Event(2)]);
var bulk = await client.SubmitUsageEventsAsync(Enumerable.Range(3, 30).Select(Event));
var again = await client.SubmitUsageEventAsync(Event(0));
var usage = await client.GetUsageEventsAsync(new UsageEventQuery(hour.AddDays(-1)));

Console.WriteLine($"single: {single.Status}; batch: {batch.Results.Count(r => r.IsDelivered)} delivered; bulk: {bulk.Summary}; again: {again.Status}; usage rows: {usage.Count}");
return single is UsageEventResult.Accepted
       && batch.IsAllDelivered
       && bulk.Summary.AllDelivered
       && again is UsageEventResult.Duplicate { IsReplay: true }
       && usage.Count == 33
    ? 0
    : 1;

internal sealed class FixedToken(string token) : TokenCredential
{
    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) => new(token, DateTimeOffset.UtcNow.AddHours(1));

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) => new(GetToken(requestContext, cancellationToken));
}
