using Edge.Hub.Supervisor;
using Edge.TestSupport;

namespace EndToEnd.Tests.Harness;

/// <summary>
/// The module images as the modules' "processes" (EDGE_E2E_IMAGES=1, set by <c>edge images test</c>): CameraCapture and
/// Inference run through <c>eng/images/container-run.sh</c> (host network, the supervisor's environment passed on, SIGTERM
/// forwarded), the test-only LoadGen module stays a process. EDGE_E2E_IMAGE_CAMERACAPTURE / EDGE_E2E_IMAGE_INFERENCE name
/// the images (default: the amd64 tags <c>edge images build</c> gives).
/// </summary>
internal static class ContainerImages
{
    public static bool Enabled => Environment.GetEnvironmentVariable("EDGE_E2E_IMAGES") == "1";

    public static string? ImageFor(ModuleKind kind) => !Enabled ? null : kind switch
    {
        ModuleKind.CameraCapture => Environment.GetEnvironmentVariable("EDGE_E2E_IMAGE_CAMERACAPTURE") ?? "localhost/camera-capture:1.0.0-amd64",
        ModuleKind.Inference => Environment.GetEnvironmentVariable("EDGE_E2E_IMAGE_INFERENCE") ?? "localhost/inference:1.0.0-amd64",
        _ => null,
    };

    public static ModuleLaunchSpec Launcher(string image) =>
        new(Path.Combine(Assets.RepoRoot, "eng", "images", "container-run.sh"), [image]);
}
