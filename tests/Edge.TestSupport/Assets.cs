namespace Edge.TestSupport;

/// <summary>Real test data fetched and SHA-256-verified by <c>eng/assets.sh</c> (run by <c>./edge test</c>).</summary>
public static class Assets
{
    /// <summary>The cache folder: <c>$EDGE_ASSETS_DIR</c>, else <c>~/.cache/edge-assets</c>.</summary>
    public static string Directory =>
        Environment.GetEnvironmentVariable("EDGE_ASSETS_DIR") is { Length: > 0 } d
            ? d
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "edge-assets");

    public static string BlazeFaceFront128 => Get("face_detection_front_128x128_barracuda.onnx");
    public static string BlazeFaceBack256 => Get("face_detection_back_256x256_barracuda.onnx");
    public static string Megamind => Get("Megamind.avi");
    public static string Messi => Get("messi5.jpg");
    public static string VTest => Get("vtest.avi");

    /// <summary>The path of a cached asset; fails with the command to run when it is missing.</summary>
    public static string Get(string name)
    {
        var path = Path.Combine(Directory, name);
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"Test asset '{name}' is not in {Directory}. Run eng/assets.sh (./edge test does) to fetch and verify it.", path);
    }

    /// <summary>The repository root (the folder holding IoTEdgeSolution.sln).</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IoTEdgeSolution.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("IoTEdgeSolution.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The shared reference manifests beside the checkout, or null when absent (tests then skip).</summary>
    public static string? ReferenceManifests
    {
        get
        {
            var path = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "reference", "manifests"));
            return System.IO.Directory.Exists(path) ? path : null;
        }
    }
}
