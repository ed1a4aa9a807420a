using System.Text.Json.Nodes;

namespace Inference.Models;

/// <summary>What the model manager is doing and what is serving: reported as <c>model</c>.</summary>
internal sealed record ModelStatus(
    string Status,
    string? Error,
    string? Name,
    string? Version,
    string? Sha256,
    string? Profile,
    double? LoadMs,
    DateTimeOffset? LoadedAt,
    string? Provider,
    string? ProviderError,
    string? Requested)
{
    public static ModelStatus None { get; } = new("none", null, null, null, null, null, null, null, null, null, null);

    public JsonObject ToJson() => new()
    {
        ["status"] = Status,
        ["error"] = Error,
        ["name"] = Name,
        ["version"] = Version,
        ["sha256"] = Sha256,
        ["profile"] = Profile,
        ["loadMs"] = LoadMs is { } ms ? Math.Round(ms, 1) : null,
        ["loadedAt"] = LoadedAt?.ToString("O"),
        ["executionProvider"] = Provider,
        ["executionProviderError"] = ProviderError,
        ["requested"] = Requested,
    };
}
