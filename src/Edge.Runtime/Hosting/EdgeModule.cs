using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Microsoft.Extensions.Configuration;
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
        // Settings come from the environment, the command line and the module twin: no settings file is watched for changes
        // (that watcher is a thread and an inotify watch on the content root for files a module does not have).
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection([new("hostBuilder:reloadConfigOnChange", "false")]);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, Configuration = configuration });
        builder.Services.AddEdgeModule(builder.Configuration);
        return builder;
    }

    /// <summary>
    /// Loads the native libraries <paramref name="names"/> (P/Invoke names, e.g. <c>onnxruntime</c>) from beside the executable
    /// when the default lookup does not find them. Native AOT resolves P/Invokes by library name only, without the JIT host's
    /// probing of the application folder (deps.json), so a published module needs this for the libraries it ships.
    /// </summary>
    public static void LoadNativeLibrariesFromAppDirectory(params string[] names) =>
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += (_, name) =>
            Array.IndexOf(names, name) >= 0 && NativeLibrary.TryLoad(Path.Combine(AppContext.BaseDirectory, $"lib{name}.so"), out var handle)
                ? handle
                : IntPtr.Zero;
}
