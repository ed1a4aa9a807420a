using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;
using Edge.TestSupport;

namespace Edge.Deployment.Tests.Manifests;

/// <summary>The repository's own templates and module.json files, expanded with fixed variables (never the process environment).</summary>
internal static class Solution
{
    public static string Root => Assets.RepoRoot;

    public static string GoldenDirectory => Path.Combine(Root, "tests", "Edge.Deployment.Tests", "Golden");

    public static VariableSet Variables { get; } = new([
        new("CONTAINER_REGISTRY_SERVER", "contoso.azurecr.io"),
        new("CONTAINER_REGISTRY_USERNAME", "contoso"),
        new("CONTAINER_REGISTRY_PASSWORD", "p@ss\"word"),
    ]);

    public static ModuleCatalog Modules => ModuleCatalog.FromSolution(Root);

    public static JsonObject Build(string template, string platform) =>
        ManifestBuilder.Build(File.ReadAllText(Path.Combine(Root, template)), new ManifestBuildOptions(platform, Variables, Modules));

    /// <summary>A small valid manifest to mutate in validation tests.</summary>
    public static JsonObject Minimal() => ManifestJson.Parse("""
        {
          "modulesContent": {
            "$edgeAgent": {
              "properties.desired": {
                "schemaVersion": "1.1",
                "runtime": { "type": "docker", "settings": { "minDockerVersion": "v1.25", "loggingOptions": "", "registryCredentials": {
                  "acr": { "username": "u", "password": "p", "address": "contoso.azurecr.io" } } } },
                "systemModules": {
                  "edgeAgent": { "type": "docker", "settings": { "image": "mcr.microsoft.com/azureiotedge-agent:1.5", "createOptions": "{}" } },
                  "edgeHub": { "type": "docker", "status": "running", "restartPolicy": "always", "startupOrder": 0,
                    "settings": { "image": "mcr.microsoft.com/azureiotedge-hub:1.5", "createOptions": "{\"HostConfig\":{}}" } }
                },
                "modules": {
                  "CameraCapture": { "version": "1.0", "type": "docker", "status": "running", "restartPolicy": "always", "startupOrder": 1,
                    "env": { "FRAME_STORE": { "value": "/app/frames" } },
                    "settings": { "image": "contoso.azurecr.io/camera-capture:1.0.0-amd64", "createOptions": "{\"User\":\"1654\"}" } },
                  "Inference": { "version": "1.0", "type": "docker", "status": "running", "restartPolicy": "on-failure",
                    "settings": { "image": "contoso.azurecr.io/inference:1.0.0-amd64", "createOptions": "" } }
                }
              }
            },
            "$edgeHub": {
              "properties.desired": {
                "schemaVersion": "1.1",
                "routes": {
                  "frames": "FROM /messages/modules/CameraCapture/outputs/frames INTO BrokeredEndpoint(\"/modules/Inference/inputs/frames\")",
                  "up": { "route": "FROM /messages/modules/Inference/outputs/detections INTO $upstream", "priority": 1, "timeToLiveSecs": 600 }
                },
                "storeAndForwardConfiguration": { "timeToLiveSecs": 7200 }
              }
            },
            "Inference": { "properties.desired": { "thresholds": { "minScore": 0.6 } } }
          }
        }
        """);

    public static JsonObject Agent(JsonObject m) => (JsonObject)m["modulesContent"]!["$edgeAgent"]!["properties.desired"]!;

    public static JsonObject Hub(JsonObject m) => (JsonObject)m["modulesContent"]!["$edgeHub"]!["properties.desired"]!;

    public static JsonObject Module(JsonObject m, string id) => (JsonObject)Agent(m)["modules"]![id]!;
}
