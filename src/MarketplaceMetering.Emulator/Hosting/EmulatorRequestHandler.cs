using MarketplaceMetering.Emulator.Admin;
using MarketplaceMetering.Emulator.Api;
using MarketplaceMetering.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace MarketplaceMetering.Emulator.Hosting;

/// <summary>The one request delegate: <c>/api/…</c> to the metering API, <c>/emulator/…</c> to the admin API, else 404.</summary>
internal sealed class EmulatorRequestHandler(EmulatorState state)
{
    private readonly MeteringApi _api = new(state);
    private readonly AdminApi _admin = new(state);

    public Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase))
        {
            return _api.HandleAsync(context);
        }

        if (path.StartsWithSegments("/emulator", StringComparison.OrdinalIgnoreCase))
        {
            return _admin.HandleAsync(context);
        }

        return ApiResponse.Error(404, new ServiceError("NotFound", "The metering API is under /api."))
            .WriteAsync(context, RequestIds.From(context.Request), context.RequestAborted);
    }
}
