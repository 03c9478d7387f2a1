using System.Text.Json;

namespace MarketplaceMetering.Emulator.Wire;

/// <summary>Writes the service's error bodies.</summary>
internal static class ServiceErrorWriter
{
    public const string ForbiddenMessage = "Client is not authorized for this usage resource.";

    public static byte[] ToJson(ServiceError error) => JsonBody.Write(writer => Write(writer, error));

    /// <summary>Writes an error object (as a value, or as a property value when the writer expects one).</summary>
    public static void Write(Utf8JsonWriter writer, ServiceError error)
    {
        writer.WriteStartObject();
        writer.WriteString("code", error.Code);
        writer.WriteString("message", error.Message);
        if (error.Target is not null)
        {
            writer.WriteString("target", error.Target);
        }

        if (error.Details is { } details)
        {
            writer.WriteStartArray("details");
            foreach (var detail in details)
            {
                writer.WriteStartObject();
                writer.WriteString("code", detail.Code);
                writer.WriteString("target", detail.Target);
                writer.WriteString("message", detail.Message);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    /// <summary>The 403 body: <c>{"message": "Client is not authorized for this usage resource.", "code": "Forbidden"}</c>.</summary>
    public static byte[] Forbidden() => JsonBody.Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("message", ForbiddenMessage);
        writer.WriteString("code", "Forbidden");
        writer.WriteEndObject();
    });
}
