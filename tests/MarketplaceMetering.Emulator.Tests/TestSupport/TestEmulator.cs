using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Emulator.Tests.TestSupport;

/// <summary>
/// An emulator started in process on a free loopback port, with a test clock (a FakeTimeProvider) at 2026-11-20 10:17:23 UTC, a fixed
/// token, batch shuffling off (tests that care turn it on) and a plain <see cref="HttpClient"/> sending hand-written JSON.
/// </summary>
internal sealed class TestEmulator : IAsyncDisposable
{
    public const string Token = "test-token";
    public const string EventPath = "api/usageEvent?api-version=2018-08-31";
    public const string BatchPath = "api/batchUsageEvent?api-version=2018-08-31";
    public const string UsagePath = "api/usageEvents?api-version=2018-08-31";

    private TestEmulator(MeteringEmulator emulator, TestClock time)
    {
        Emulator = emulator;
        Time = time;
        Http = new HttpClient { BaseAddress = emulator.Endpoint, Timeout = TimeSpan.FromSeconds(30) };
    }

    public MeteringEmulator Emulator { get; }

    public TestClock Time { get; }

    public HttpClient Http { get; }

    public DateTimeOffset Now => Time.GetUtcNow();

    public static async Task<TestEmulator> StartAsync(Action<MeteringEmulatorOptions>? configure = null)
    {
        var time = new TestClock();
        var options = new MeteringEmulatorOptions
        {
            TimeProvider = time,
            Token = Token,
            ShuffleBatchResults = false,
        };
        configure?.Invoke(options);
        return new TestEmulator(await MeteringEmulator.StartAsync(options), time);
    }

    public Task<ApiAnswer> PostEventAsync(string json) => SendAsync(HttpMethod.Post, EventPath, json);

    public Task<ApiAnswer> PostBatchAsync(string json) => SendAsync(HttpMethod.Post, BatchPath, json);

    public Task<ApiAnswer> GetUsageAsync(string query) => SendAsync(HttpMethod.Get, UsagePath + query, null);

    public async Task<ApiAnswer> SendAsync(
        HttpMethod method,
        string pathAndQuery,
        string? body,
        string? authorization = "Bearer " + Token,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, pathAndQuery);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await Http.SendAsync(request);
        return await ApiAnswer.ReadAsync(response);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
    }
}

/// <summary>An HTTP answer, read completely.</summary>
internal sealed record ApiAnswer(int Status, string Body, HttpResponseHeaders Headers, string? ContentType)
{
    public JsonElement Json
    {
        get
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.Clone();
        }
    }

    public string Header(string name) =>
        Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : throw new KeyNotFoundException($"No {name} header.");

    public static async Task<ApiAnswer> ReadAsync(HttpResponseMessage response) =>
        new(
            (int)response.StatusCode,
            await response.Content.ReadAsStringAsync(),
            response.Headers,
            response.Content.Headers.ContentType?.ToString());
}
