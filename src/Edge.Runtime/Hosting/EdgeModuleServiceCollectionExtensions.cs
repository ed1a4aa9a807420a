using System.Globalization;
using Edge.Runtime.Client;
using Edge.Runtime.Diagnostics;
using Edge.Runtime.Hosting;
using Edge.Runtime.Outbox;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Edge.Runtime;

/// <summary>Registers the edge runtime.</summary>
public static class EdgeModuleServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IModuleClient"/> (singleton) and everything behind it, bound from <paramref name="configuration"/>:
    /// <see cref="TimeProvider"/>, <see cref="EdgeModuleOptions"/> (state folder resolved), <see cref="OutboxOptions"/>,
    /// console logging at <c>RuntimeLogLevel</c>, metrics (Prometheus on <c>MetricsPort</c> when set) and the hosted service that
    /// connects once every other hosted service has started. See docs/configuration.md for every variable.
    /// </summary>
    public static IServiceCollection AddEdgeModule(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<EdgeModuleOptions>()
            .Configure(o => o.StateDirectory = ResolveStateDirectory(configuration))
            .ValidateOnStart();
        services.AddOptions<OutboxOptions>().Bind(configuration.GetSection("Outbox")).ValidateOnStart();
        services.AddOptions<EdgeHubClientOptions>().Bind(configuration.GetSection("EdgeHub")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EdgeModuleOptions>, EdgeModuleOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OutboxOptions>, OutboxOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EdgeHubClientOptions>, EdgeHubClientOptionsValidator>());

        var level = ParseRuntimeLogLevel(configuration["RuntimeLogLevel"]);
        var iotEdgeFormat = UseIoTEdgeLogFormat(configuration);
        services.AddLogging(b =>
        {
            b.ClearProviders();
            if (iotEdgeFormat)
            {
                b.AddConsole(o => o.FormatterName = IoTEdgeConsoleFormatter.FormatterName);
                // Registered directly: AddConsoleFormatter<,> binds options from configuration, which trimming/AOT rejects.
                b.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ConsoleFormatter, IoTEdgeConsoleFormatter>());
            }
            else
            {
                b.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.UseUtcTimestamp = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                    o.ColorBehavior = LoggerColorBehavior.Disabled;
                });
            }

            b.SetMinimumLevel(level);
            b.AddFilter("Microsoft.Hosting.Lifetime", level <= LogLevel.Information ? LogLevel.Information : level);
            b.AddFilter("Microsoft", level <= LogLevel.Warning ? LogLevel.Warning : level);
            b.AddFilter("System", level <= LogLevel.Warning ? LogLevel.Warning : level);
        });
        services.AddMetrics();
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));

        services.TryAddSingleton(sp => new RuntimeMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton<DurableOutbox>();
        services.TryAddSingleton<Func<EdgeHubSettings>>(_ => () => EdgeHubSettings.FromConfiguration(configuration));
        services.TryAddSingleton<ModuleClient>();
        services.TryAddSingleton<IModuleClient>(sp => sp.GetRequiredService<ModuleClient>());
        services.AddHostedService<ModuleClientHostedService>();

        if (configuration["MetricsPort"] is { Length: > 0 } portText)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
            {
                throw new EdgeConfigurationException("MetricsPort", $"'{portText}' is not a TCP port (0-65535)");
            }

            // Created with the host (before any module meter), so every instrument is seen from its first measurement.
            services.TryAddSingleton(sp => new PrometheusExporter(
                MetricLabels.FromConfiguration(configuration, Guid.NewGuid()),
                sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
            services.AddHostedService(sp => new PrometheusEndpoint(port, sp.GetRequiredService<PrometheusExporter>(), sp.GetRequiredService<ILogger<PrometheusEndpoint>>()));
        }

        return services;
    }

    /// <summary>Env <c>StateDirectory</c>, else <c>/app/state</c> in a container, else <c>~/.edge-state/{moduleId}</c>.</summary>
    internal static string ResolveStateDirectory(IConfiguration configuration)
    {
        if (configuration["StateDirectory"] is { Length: > 0 } explicitDir)
        {
            return Path.GetFullPath(explicitDir);
        }

        var inContainer = string.Equals(configuration["DOTNET_RUNNING_IN_CONTAINER"], "true", StringComparison.OrdinalIgnoreCase) || File.Exists("/.dockerenv");
        if (inContainer)
        {
            return "/app/state";
        }

        var module = EdgeHubSettings.PeekModuleId(configuration) is { Length: > 0 } m ? m : "module";
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".edge-state", module);
    }

    /// <summary>
    /// <c>LogFormat</c>: <c>iotedge</c> (syslog severity prefix, see <see cref="IoTEdgeConsoleFormatter"/>) or <c>simple</c> (the
    /// dev loop's one-line console); unset: <c>iotedge</c> under the IoT Edge runtime (<c>IOTEDGE_MODULEID</c> set), else <c>simple</c>.
    /// </summary>
    internal static bool UseIoTEdgeLogFormat(IConfiguration configuration) => configuration["LogFormat"]?.Trim().ToLowerInvariant() switch
    {
        null or "" => !string.IsNullOrEmpty(configuration["IOTEDGE_MODULEID"]),
        "iotedge" or "syslog" => true,
        "simple" => false,
        var other => throw new EdgeConfigurationException("LogFormat", $"'{other}' is not a log format; use 'iotedge' (syslog severity prefix, as IoT Edge's modules) or 'simple'"),
    };

    /// <summary>IoT Edge's <c>RuntimeLogLevel</c> values (fatal, error, warning, info, debug, verbose), case-insensitive; default info.</summary>
    internal static LogLevel ParseRuntimeLogLevel(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "fatal" or "critical" => LogLevel.Critical,
        "error" or "err" => LogLevel.Error,
        "warning" or "warn" => LogLevel.Warning,
        "debug" => LogLevel.Debug,
        "verbose" or "trace" => LogLevel.Trace,
        _ => LogLevel.Information,
    };
}
