using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Edge.Runtime;
using Microsoft.Extensions.Hosting;

namespace LoadGen;

/// <summary>
/// Twin desired <c>loadGen</c>: application properties added to every message sent from then on. Validated and reported
/// through <see cref="DesiredSettings"/> (the path every module's settings take), so the AOT tests exercise it.
/// </summary>
public sealed class LoadGenTwinSettings
{
    /// <summary>Properties added to each message. Default none.</summary>
    public List<LoadGenProperty> Properties { get; set; } = [];
}

/// <summary>One application property.</summary>
public sealed class LoadGenProperty
{
    [Required]
    [StringLength(64, MinimumLength = 1)]
    public string Name { get; set; } = "";

    [Required(AllowEmptyStrings = true)]
    [StringLength(256)]
    public string Value { get; set; } = "";
}

/// <summary>The desired-properties handler and the <c>getStatus</c> direct method.</summary>
internal sealed class LoadGenTwin(IModuleClient client, LoadGenState state) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        client.SetDesiredPropertiesHandler((args, _) =>
        {
            if (!DesiredSettings.TryBind(args.Desired["loadGen"], new LoadGenTwinSettings(), LoadGenTwinJson.Default.LoadGenTwinSettings, out var settings, out var errors))
            {
                return Task.FromResult(DesiredPropertiesResult.Rejected(string.Join("; ", errors)));
            }

            state.Properties = settings.Properties.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
            return Task.FromResult(DesiredPropertiesResult.Applied(new JsonObject { ["loadGen"] = DesiredSettings.ToJson(settings, LoadGenTwinJson.Default.LoadGenTwinSettings) }));
        });
        client.SetMethodHandler("getStatus", (_, _) => Task.FromResult(MethodResponse.Ok(new JsonObject
        {
            ["source"] = state.Source,
            ["sent"] = state.Sent,
            ["properties"] = state.Properties.Count,
        })));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>What the sender shares with the twin and the method.</summary>
internal sealed class LoadGenState
{
    private long _sent;

    public IReadOnlyDictionary<string, string> Properties { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public string? Source { get; set; }

    public long Sent => Interlocked.Read(ref _sent);

    public void CountSent() => Interlocked.Increment(ref _sent);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(LoadGenTwinSettings))]
internal sealed partial class LoadGenTwinJson : JsonSerializerContext;
