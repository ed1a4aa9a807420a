using Edge.Runtime;
using Inference;
using Microsoft.Extensions.Hosting;

var builder = EdgeModule.CreateBuilder(args);
builder.Services.AddInference(builder.Configuration);
await builder.Build().RunAsync().ConfigureAwait(false);
