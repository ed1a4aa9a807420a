using CameraCapture;
using Edge.Runtime;
using Microsoft.Extensions.Hosting;

GlibcMalloc.Tune();

EdgeModule.LoadNativeLibrariesFromAppDirectory("OpenCvSharpExtern");

var builder = EdgeModule.CreateBuilder(args);
builder.Services.AddCameraCapture(builder.Configuration);
await builder.Build().RunAsync().ConfigureAwait(false);
