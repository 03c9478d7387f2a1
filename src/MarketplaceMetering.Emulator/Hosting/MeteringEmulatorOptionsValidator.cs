using System.Globalization;

namespace MarketplaceMetering.Emulator.Hosting;

/// <summary>Checks options once, reporting every bad setting in one exception.</summary>
internal static class MeteringEmulatorOptionsValidator
{
    public static void ThrowIfInvalid(MeteringEmulatorOptions options)
    {
        var problems = Problems(options).ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException(
                "The emulator options are not valid: " + string.Join(" ", problems),
                nameof(options));
        }
    }

    private static IEnumerable<string> Problems(MeteringEmulatorOptions options)
    {
        if (options.Port is < 0 or > 65535)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"Port must be 0 to 65535 (was {options.Port}).");
        }

        if (options.Token is { } token && !IsValidToken(token))
        {
            yield return "Token must be non-empty printable ASCII without spaces.";
        }

        if (options.TimeProvider is null)
        {
            yield return "TimeProvider is required.";
        }

        if (!Enum.IsDefined(options.TimeStyle))
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"TimeStyle is not a known style (was {(int)options.TimeStyle}).");
        }

        if (options.MaxRequestBodyBytes <= 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"MaxRequestBodyBytes must be more than 0 (was {options.MaxRequestBodyBytes}).");
        }

        if (options.MaxRecordedRequests < 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"MaxRecordedRequests must be 0 or more (was {options.MaxRecordedRequests}).");
        }

        foreach (var problem in options.Faults.Snapshot().Problems("Faults."))
        {
            yield return problem;
        }

        var ids = new HashSet<Guid>();
        var uris = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Resources.Count; i++)
        {
            var resource = options.Resources[i];
            var name = string.Create(CultureInfo.InvariantCulture, $"Resources[{i}]");
            if (resource is null)
            {
                yield return $"{name} is null.";
                continue;
            }

            if (resource.ResourceId == Guid.Empty)
            {
                yield return $"{name}.ResourceId is required.";
            }
            else if (!ids.Add(resource.ResourceId))
            {
                yield return $"{name}.ResourceId {resource.ResourceId} appears twice.";
            }

            if (resource.ResourceUri is { } uri && (string.IsNullOrWhiteSpace(uri) || !uris.Add(uri)))
            {
                yield return $"{name}.ResourceUri is empty or appears twice.";
            }

            if (string.IsNullOrWhiteSpace(resource.PlanId))
            {
                yield return $"{name}.PlanId is required.";
            }

            if (resource.Dimensions is null || resource.Dimensions.Count == 0 || resource.Dimensions.Any(string.IsNullOrWhiteSpace))
            {
                yield return $"{name}.Dimensions needs at least one dimension, none of them empty.";
            }

            if (!Enum.IsDefined(resource.Status))
            {
                yield return $"{name}.Status is not a known status.";
            }

            if (string.IsNullOrWhiteSpace(resource.OfferId))
            {
                yield return $"{name}.OfferId is required.";
            }
        }
    }

    private static bool IsValidToken(string token) =>
        token.Length > 0 && token.All(c => c is > ' ' and < (char)0x7F);
}
