using Edge.Runtime;
using Microsoft.Extensions.Hosting;


var builder = EdgeModule.CreateBuilder(args);
await builder.Build().RunAsync().ConfigureAwait(false);
