using Edge.Runtime;
using Inference;
using Inference.Models;
using Inference.Processing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

var builder = EdgeModule.CreateBuilder(args);
builder.Services.AddOptions<InferenceOptions>().BindConfiguration("Inference").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<ModelSettings>().BindConfiguration("Model").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<ThresholdSettings>().BindConfiguration("Thresholds").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<EdgeModuleOptions>().BindConfiguration("");
builder.Services.AddHttpClient(ModelManager.PipelineName);
builder.Services.AddMetrics();
builder.Services.AddSingleton<InferenceMetrics>();
builder.Services.AddSingleton(sp =>
{
    var state = sp.GetRequiredService<IOptions<EdgeModuleOptions>>().Value.StateDirectory;
    if (string.IsNullOrEmpty(state))
    {
        state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".edge-state", "inference");
    }

    return new ModelManager(state, sp.GetRequiredService<IOptions<InferenceOptions>>().Value,
        sp.GetRequiredService<IHttpClientFactory>().CreateClient(ModelManager.PipelineName),
        sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ModelManager>>());
});
builder.Services.AddHostedService(sp => new InferenceService(
    sp.GetRequiredService<IModuleClient>(),
    sp.GetRequiredService<ModelManager>(),
    sp.GetRequiredService<IOptions<InferenceOptions>>().Value,
    sp.GetRequiredService<IOptions<ModelSettings>>().Value,
    sp.GetRequiredService<IOptions<ThresholdSettings>>().Value,
    sp.GetRequiredService<TimeProvider>(),
    sp.GetRequiredService<ILogger<InferenceService>>(),
    sp.GetRequiredService<InferenceMetrics>()));
await builder.Build().RunAsync().ConfigureAwait(false);
