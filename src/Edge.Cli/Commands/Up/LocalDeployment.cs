using System.Text.Json.Nodes;

namespace Edge.Cli.Commands.Up;

/// <summary>
/// Adapts a deployment's <c>modulesContent</c> for a run on this machine: container paths become folders under the run's
/// state directory, the default model URL points at the verified asset cache, the camera source is the sample video (or
/// <c>--source</c>), and the annotated frames reach the dashboard.
/// </summary>
internal static class LocalDeployment
{
    private const string ContainerAppRoot = "/app/";

    /// <summary>The route that shows the run summary each frame the hub accepted from CameraCapture.</summary>
    public const string FramesToSummaryRoute = "framesToSummary";

    public static void Adapt(JsonObject modulesContent, string assetsDirectory, string stateDirectory, UpOptions options)
    {
        if (modulesContent["$edgeAgent"]?["properties.desired"]?["modules"] is JsonObject modules)
        {
            foreach (var (_, module) in modules)
            {
                if (module?["env"] is not JsonObject env)
                {
                    continue;
                }

                foreach (var (name, variable) in env)
                {
                    if (name == "MetricsPort" && variable is JsonObject port)
                    {
                        // Every module would bind the container port (9600) on this one host: each takes a free port instead (logged at start).
                        port["value"] = "0";
                    }
                    else if (variable?["value"] is JsonValue v && v.TryGetValue<string>(out var value) && value.StartsWith(ContainerAppRoot, StringComparison.Ordinal))
                    {
                        variable["value"] = Path.Combine(stateDirectory, "app", value[ContainerAppRoot.Length..]);
                    }
                }
            }
        }

        if (Desired(modulesContent, "CameraCapture") is { } capture)
        {
            // The twin's cameras are a map keyed by id (or, still accepted, an array with ids): the first is the template.
            var (templateId, template) = capture["cameras"] switch
            {
                JsonObject map when map.FirstOrDefault() is { Value: JsonObject first } f => (f.Key, first),
                JsonArray list when list.FirstOrDefault() is JsonObject first => (first["id"]?.GetValue<string>(), first),
                _ => (null, new JsonObject { ["fps"] = 5, ["width"] = 640, ["height"] = 480 }),
            };
            var cameras = new JsonObject();
            for (var i = 1; i <= options.Cameras; i++)
            {
                var camera = (JsonObject)template.DeepClone();
                camera.Remove("id");
                if (options.Source is not null)
                {
                    camera["source"] = options.Source;
                }
                else if (options.Deployment is null)
                {
                    camera["source"] = Path.Combine(assetsDirectory, "Megamind.avi");
                    camera["loop"] = true;
                }

                cameras[options.Cameras == 1 && templateId is not null ? templateId : $"cam{i}"] = camera;
            }

            capture["cameras"] = cameras;
        }

        if (Desired(modulesContent, "Inference")?["model"] is JsonObject model
            && model["url"] is JsonValue url && url.TryGetValue<string>(out var u) && u.StartsWith("file://" + ContainerAppRoot + "models/", StringComparison.Ordinal))
        {
            model["url"] = new Uri(Path.Combine(assetsDirectory, Path.GetFileName(u))).AbsoluteUri;
        }

        // The run summary counts per message what capture durably sent: a copy of every frame the hub accepted from capture.
        if (modulesContent["$edgeHub"]?["properties.desired"]?["routes"] is JsonObject all && !all.ContainsKey(FramesToSummaryRoute))
        {
            all[FramesToSummaryRoute] = new JsonObject
            {
                ["route"] = "FROM /messages/modules/CameraCapture/outputs/frames INTO $upstream",
                ["priority"] = 9,
            };
        }

        // Per-frame detections stay on the edge in the deployment (events go upstream); the local run still streams them to the
        // console and the dashboard through a low-priority, short-lived route that the upstream budget leaves out.
        if (modulesContent["$edgeHub"]?["properties.desired"]?["routes"] is JsonObject localRoutes && !localRoutes.Any(r => r.Value?.ToJsonString().Contains("outputs/detections", StringComparison.Ordinal) == true))
        {
            localRoutes[UpstreamBudget.LocalDetectionsRoute] = new JsonObject
            {
                ["route"] = "FROM /messages/modules/Inference/outputs/detections INTO $upstream",
                ["priority"] = 8,
                ["timeToLiveSecs"] = 30,
            };
        }

        if (options.Dashboard && modulesContent["$edgeHub"]?["properties.desired"]?["routes"] is JsonObject routes && !routes.ContainsKey("annotatedToDashboard"))
        {
            routes["annotatedToDashboard"] = new JsonObject
            {
                ["route"] = "FROM /messages/modules/Inference/outputs/annotated INTO $upstream",
                ["priority"] = 9,
                ["timeToLiveSecs"] = 30,
            };
        }
    }

    /// <summary>The module ids of the deployment's custom modules.</summary>
    public static IReadOnlyList<string> ModuleIds(JsonObject modulesContent) =>
        modulesContent["$edgeAgent"]?["properties.desired"]?["modules"] is JsonObject modules ? [.. modules.Select(m => m.Key)] : [];

    private static JsonObject? Desired(JsonObject modulesContent, string moduleId) =>
        modulesContent[moduleId]?["properties.desired"] as JsonObject;
}
