namespace SaasClientSecret;

/// <summary>The sample's own settings, from the "Sample" section of appsettings.json.</summary>
public sealed class SampleSettings
{
    public bool UseEmulator { get; set; } = true;

    public bool RunOnce { get; set; } = true;

    public List<Subscription> Subscriptions { get; set; } = [];

    public List<string> Dimensions { get; set; } = [];
}

/// <summary>A SaaS subscription and the plan it is on.</summary>
public sealed class Subscription
{
    public Guid Id { get; set; }

    public string PlanId { get; set; } = string.Empty;
}
