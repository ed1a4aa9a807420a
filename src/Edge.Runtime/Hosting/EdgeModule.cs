using Microsoft.Extensions.Hosting;

namespace Edge.Runtime;

/// <summary>Entry point for a module's Program.cs.</summary>
public static class EdgeModule
{
    /// <summary>
    /// A host builder with the edge runtime registered (<see cref="IModuleClient"/>, the outbox, twins, metrics, logging,
    /// <see cref="TimeProvider"/>). Configuration: environment variables over appsettings.json; twin desired properties
    /// are applied on top at run time through <see cref="IModuleClient.SetDesiredPropertiesHandler"/>.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddEdgeModule(builder.Configuration);
        return builder;
    }
}
