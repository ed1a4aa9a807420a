using Edge.Runtime;
using Inference.Events;
using Inference.Models;
using Inference.Processing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Inference;

/// <summary>Registers the Inference module on top of the edge runtime (<c>AddEdgeModule</c>).</summary>
public static class InferenceServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="InferenceOptions"/> (<c>Inference</c>), <see cref="ModelSettings"/> (<c>Model</c>) and
    /// <see cref="ThresholdSettings"/> (<c>Thresholds</c>) with validation on start, and registers the model manager and the
    /// hosted inference service. See docs/configuration.md.
    /// </summary>
    public static IServiceCollection AddInference(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<InferenceOptions>().Bind(configuration.GetSection("Inference")).ValidateOnStart();
        services.AddOptions<ModelSettings>().Bind(configuration.GetSection("Model")).ValidateOnStart();
        services.AddOptions<ThresholdSettings>().Bind(configuration.GetSection("Thresholds")).ValidateOnStart();
        services.AddOptions<EventSettings>().Bind(configuration.GetSection("Events")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EventSettings>, EventSettingsValidator>());
        services.AddSingleton(sp => new EventPipeline(
            sp.GetRequiredService<IModuleClient>(),
            sp.GetRequiredService<IOptions<EdgeModuleOptions>>().Value.StateDirectory,
            sp.GetRequiredService<IOptions<EventSettings>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<EventPipeline>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InferenceOptions>, InferenceOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelSettings>, ModelSettingsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ThresholdSettings>, ThresholdSettingsValidator>());
        // Timeouts and retries live in the model-load pipeline; the client itself never times out (no retry inside a retry).
        services.AddHttpClient(ModelManager.PipelineName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton(sp => new InferenceMetrics(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton(sp => new ModelManager(
            sp.GetRequiredService<IOptions<EdgeModuleOptions>>().Value.StateDirectory,
            sp.GetRequiredService<IOptions<InferenceOptions>>().Value,
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(ModelManager.PipelineName),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ModelManager>>()));
        services.AddHostedService(sp => new InferenceService(
            sp.GetRequiredService<IModuleClient>(),
            sp.GetRequiredService<ModelManager>(),
            sp.GetRequiredService<IOptions<InferenceOptions>>().Value,
            sp.GetRequiredService<IOptions<ModelSettings>>().Value,
            sp.GetRequiredService<IOptions<ThresholdSettings>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<InferenceService>>(),
            sp.GetRequiredService<InferenceMetrics>(),
            sp.GetRequiredService<EventPipeline>()));
        return services;
    }
}

/// <summary>Source-generated DataAnnotations validation of <see cref="InferenceOptions"/> (trim- and AOT-safe).</summary>
[OptionsValidator]
internal sealed partial class InferenceOptionsValidator : IValidateOptions<InferenceOptions>;

/// <summary>Source-generated DataAnnotations validation of <see cref="ModelSettings"/>.</summary>
[OptionsValidator]
internal sealed partial class ModelSettingsValidator : IValidateOptions<ModelSettings>;

/// <summary>Source-generated DataAnnotations validation of <see cref="ThresholdSettings"/> (its IValidatableObject checks included).</summary>
[OptionsValidator]
internal sealed partial class ThresholdSettingsValidator : IValidateOptions<ThresholdSettings>;

/// <summary>Source-generated DataAnnotations validation of <see cref="EventSettings"/> (zones checked by its IValidatableObject).</summary>
[OptionsValidator]
internal sealed partial class EventSettingsValidator : IValidateOptions<EventSettings>;
