using System.Runtime.InteropServices;

namespace CameraCapture;

/// <summary>
/// glibc malloc tuning for a process that churns frame-sized native buffers (decoders, Mats, JPEG encode vectors) on many
/// threads: one arena instead of up to 8 per core, and a fixed 128 KiB mmap threshold (glibc otherwise raises it to the
/// largest freed block, so frame buffers are then carved from the heap and stay resident after use). Measured with four
/// cameras: about -4 MB RSS (docs/benchmarks.md). Called first thing in Main, before the host starts its threads. A
/// <c>MALLOC_ARENA_MAX</c>, <c>MALLOC_MMAP_THRESHOLD_</c> or <c>MALLOC_TRIM_THRESHOLD_</c> environment variable wins over
/// the value here; nothing happens off glibc.
/// </summary>
internal static class GlibcMalloc
{
    private const int MTrimThreshold = -1;
    private const int MMmapThreshold = -3;
    private const int MArenaMax = -8;

    public static void Tune()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            Set(MArenaMax, 1, "MALLOC_ARENA_MAX");
            Set(MMmapThreshold, 128 * 1024, "MALLOC_MMAP_THRESHOLD_");
            Set(MTrimThreshold, 128 * 1024, "MALLOC_TRIM_THRESHOLD_");
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (e.g. musl): its allocator has no such knobs.
        }
    }

    private static void Set(int parameter, int value, string environmentOverride)
    {
        if (Environment.GetEnvironmentVariable(environmentOverride) is null)
        {
            _ = Mallopt(parameter, value);
        }
    }

    // Blittable: no marshalling stub, so DllImport is AOT-safe without the unsafe code LibraryImport would need.
    [DllImport("libc", EntryPoint = "mallopt")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Mallopt(int parameter, int value);
}
