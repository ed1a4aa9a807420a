using Edge.Runtime;
using LoadGen;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

var builder = EdgeModule.CreateBuilder(args);
builder.Services.AddOptions<LoadGenOptions>().Bind(builder.Configuration.GetSection("LoadGen")).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<LoadGenService>();
await builder.Build().RunAsync().ConfigureAwait(false);
