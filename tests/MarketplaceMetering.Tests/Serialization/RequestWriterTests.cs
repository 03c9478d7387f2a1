using System.Text;
using System.Text.Json;
using MarketplaceMetering.Serialization;

namespace MarketplaceMetering.Tests.Serialization;

public class RequestWriterTests
{
    private static readonly DateTimeOffset Time = new(2026, 11, 20, 11, 30, 14, TimeSpan.FromHours(2));

    [Fact]
    public void Single_ResourceIdEvent_WritesCamelCaseFieldsAndUtcTime()
    {
        var json = Encoding.UTF8.GetString(RequestWriter.Single(UsageEvent.ForResourceId(TestEvents.Resource, "plan1", "dim1", 5m, Time)).ToArray());

        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        root.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("resourceId", "quantity", "dimension", "effectiveStartTime", "planId");
        root.GetProperty("resourceId").GetString().Should().Be(TestEvents.Resource.ToString());
        root.GetProperty("quantity").GetDecimal().Should().Be(5m);
        root.GetProperty("dimension").GetString().Should().Be("dim1");
        root.GetProperty("planId").GetString().Should().Be("plan1");
        root.GetProperty("effectiveStartTime").GetString().Should().Be("2026-11-20T09:30:14Z");
    }

    [Fact]
    public void Single_ResourceUriEvent_WritesUriAndNoResourceId()
    {
        const string uri = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1";

        var json = Encoding.UTF8.GetString(RequestWriter.Single(UsageEvent.ForResourceUri(uri, "plan1", "dim1", 1.25m, Time)).ToArray());

        using var doc = JsonDocument.Parse(json);
        doc.RootElement.GetProperty("resourceUri").GetString().Should().Be(uri);
        doc.RootElement.TryGetProperty("resourceId", out _).Should().BeFalse();
        doc.RootElement.GetProperty("quantity").GetDecimal().Should().Be(1.25m);
    }

    [Fact]
    public void Single_FractionalSeconds_AreKept()
    {
        var json = Encoding.UTF8.GetString(RequestWriter.Single(TestEvents.At(new DateTimeOffset(2026, 11, 20, 9, 30, 14, 250, TimeSpan.Zero))).ToArray());

        json.Should().Contain("\"effectiveStartTime\":\"2026-11-20T09:30:14.25Z\"");
    }

    [Fact]
    public void Batch_WritesRequestArrayInOrder()
    {
        var events = new[] { TestEvents.At(Time, resource: TestEvents.ResourceNumber(0)), TestEvents.At(Time, resource: TestEvents.ResourceNumber(1)) };

        using var doc = JsonDocument.Parse(RequestWriter.Batch(events).ToArray());

        var items = doc.RootElement.GetProperty("request").EnumerateArray().ToList();
        items.Should().HaveCount(2);
        items[0].GetProperty("resourceId").GetGuid().Should().Be(TestEvents.ResourceNumber(0));
        items[1].GetProperty("resourceId").GetGuid().Should().Be(TestEvents.ResourceNumber(1));
        doc.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal("request");
    }

    [Theory]
    [InlineData("5")]
    [InlineData("5.0")]
    [InlineData("0.1")]
    [InlineData("1250.5")]
    [InlineData("9.1234567890123456789")]
    [InlineData("79228162514264337593543950335")]
    [InlineData("0.0000000000000000000000000001")]
    public void Batch_AnyQuantity_IsWrittenAsTheDecimalsExactText(string quantity)
    {
        var value = decimal.Parse(quantity, System.Globalization.CultureInfo.InvariantCulture);
        var events = new[] { TestEvents.At(Time, value) };

        using var body = RequestWriter.Batch(events);
        var json = Encoding.UTF8.GetString(body.ToArray());

        json.Should().Contain("\"quantity\":" + value.ToString(System.Globalization.CultureInfo.InvariantCulture) + ",");
    }

    [Fact]
    public async Task Single_WrittenOnManyThreadsAtOnce_EachBodyIsItsOwnEvent()
    {
        var bodies = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() =>
        {
            using var body = RequestWriter.Single(TestEvents.At(Time, i + 1m, resource: TestEvents.ResourceNumber(i)));
            return Encoding.UTF8.GetString(body.ToArray());
        })));

        for (var i = 0; i < bodies.Length; i++)
        {
            bodies[i].Should().Contain(TestEvents.ResourceNumber(i).ToString()).And.Contain("\"quantity\":" + (i + 1) + ",");
        }
    }
}
