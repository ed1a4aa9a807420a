using System.Runtime.InteropServices;
using CameraCapture;
using Edge.Runtime;
using Microsoft.Extensions.Hosting;

GlibcMalloc.Tune();

// Native AOT resolves OpenCvSharp's P/Invokes by library name only (no probing of the application folder the way the
// JIT host's deps.json does): load OpenCvSharpExtern from beside the executable when it is there (published image).
NativeLibrary.SetDllImportResolver(typeof(OpenCvSharp.Mat).Assembly, static (name, _, _) =>
    name == "OpenCvSharpExtern" && NativeLibrary.TryLoad(Path.Combine(AppContext.BaseDirectory, "libOpenCvSharpExtern.so"), out var handle)
        ? handle
        : IntPtr.Zero);

var builder = EdgeModule.CreateBuilder(args);
builder.Services.AddCameraCapture(builder.Configuration);
await builder.Build().RunAsync().ConfigureAwait(false);
