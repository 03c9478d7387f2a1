namespace QuickStart;

/// <summary>Command-line and environment settings: none means "use the embedded emulator".</summary>
internal sealed class Settings
{
    public const string Usage = """
        Usage: dotnet run --project samples/QuickStart [-- options]

          (no options)             run against the metering emulator, started in this process
          --endpoint URL           service root (default https://marketplaceapi.microsoft.com)   METERING_ENDPOINT
          --tenant-id ID           Entra tenant of the offer's app registration                   METERING_TENANT_ID
          --client-id ID           app (client) id of the offer's technical configuration         METERING_CLIENT_ID
          --client-secret SECRET   the app's client secret                                        METERING_CLIENT_SECRET
          --resource-id GUID       SaaS subscription id to report for                             METERING_RESOURCE_ID
          --plan-id ID             its plan                                                       METERING_PLAN_ID
          --dimension ID           a custom meter dimension of the plan                           METERING_DIMENSION
          --quantity N             units for the last hour (default 1)
          --help                   show this text
        """;

    public Uri? Endpoint { get; private set; }

    public string? TenantId { get; private set; }

    public string? ClientId { get; private set; }

    public string? ClientSecret { get; private set; }

    public Guid? ResourceId { get; private set; }

    public string? PlanId { get; private set; }

    public string? Dimension { get; private set; }

    public decimal Quantity { get; private set; } = 1;

    public bool Help { get; private set; }

    public string? Problem { get; private set; }

    public bool UseEmulator => TenantId is null && ClientId is null && ClientSecret is null && Endpoint is null;

    public static Settings Parse(string[] args)
    {
        var s = new Settings
        {
            TenantId = Env("METERING_TENANT_ID"),
            ClientId = Env("METERING_CLIENT_ID"),
            ClientSecret = Env("METERING_CLIENT_SECRET"),
            PlanId = Env("METERING_PLAN_ID"),
            Dimension = Env("METERING_DIMENSION"),
        };
        if (Env("METERING_ENDPOINT") is { } endpoint)
        {
            s.Endpoint = new Uri(endpoint);
        }

        if (Env("METERING_RESOURCE_ID") is { } resource && Guid.TryParse(resource, out var id))
        {
            s.ResourceId = id;
        }

        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h")
            {
                s.Help = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                s.Problem = $"{name} needs a value.";
                return s;
            }

            var value = args[++i];
            switch (name)
            {
                case "--endpoint" when Uri.TryCreate(value, UriKind.Absolute, out var uri): s.Endpoint = uri; break;
                case "--tenant-id": s.TenantId = value; break;
                case "--client-id": s.ClientId = value; break;
                case "--client-secret": s.ClientSecret = value; break;
                case "--resource-id" when Guid.TryParse(value, out var guid): s.ResourceId = guid; break;
                case "--plan-id": s.PlanId = value; break;
                case "--dimension": s.Dimension = value; break;
                case "--quantity" when decimal.TryParse(value, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var q): s.Quantity = q; break;
                default:
                    s.Problem = $"Unknown option or bad value: {name} {value}";
                    return s;
            }
        }

        if (!s.UseEmulator && !s.Help)
        {
            var missing = new[]
            {
                ("--tenant-id", s.TenantId is null), ("--client-id", s.ClientId is null), ("--client-secret", s.ClientSecret is null),
                ("--resource-id", s.ResourceId is null), ("--plan-id", s.PlanId is null), ("--dimension", s.Dimension is null),
            }.Where(m => m.Item2).Select(m => m.Item1).ToList();
            if (missing.Count > 0)
            {
                s.Problem = "To send to a real service, also give: " + string.Join(", ", missing);
            }
        }

        return s;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
