using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using Edge.Runtime;
using Inference;
using Microsoft.Extensions.Hosting;

// Native AOT resolves P/Invokes by library name only (no probing of the application folder the way the JIT host's
// deps.json does): load OpenCvSharpExtern and onnxruntime from beside the executable when they are there (published
// image). An event rather than SetDllImportResolver for ONNX Runtime, which may set its own resolver.
NativeLibrary.SetDllImportResolver(typeof(OpenCvSharp.Mat).Assembly, static (name, _, _) => FromAppDirectoryCore(name));
AssemblyLoadContext.Default.ResolvingUnmanagedDll += FromAppDirectory;

var builder = EdgeModule.CreateBuilder(args);
builder.Services.AddInference(builder.Configuration);
await builder.Build().RunAsync().ConfigureAwait(false);

static IntPtr FromAppDirectory(Assembly assembly, string name) => FromAppDirectoryCore(name);

static IntPtr FromAppDirectoryCore(string name) =>
    name is "OpenCvSharpExtern" or "onnxruntime" && NativeLibrary.TryLoad(Path.Combine(AppContext.BaseDirectory, $"lib{name}.so"), out var handle)
        ? handle
        : IntPtr.Zero;
