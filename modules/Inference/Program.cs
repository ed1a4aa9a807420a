using Edge.Runtime;
using Inference;
using Microsoft.Extensions.Hosting;

EdgeModule.LoadNativeLibrariesFromAppDirectory("OpenCvSharpExtern", "onnxruntime");

var builder = EdgeModule.CreateBuilder(args);
builder.Services.AddInference(builder.Configuration);
await builder.Build().RunAsync().ConfigureAwait(false);
