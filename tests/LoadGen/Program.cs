using Edge.Runtime;
using LoadGen;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

var builder = EdgeModule.CreateBuilder(args);
builder.Services.AddOptions<LoadGenOptions>().Bind(builder.Configuration.GetSection("LoadGen")).ValidateOnStart();
builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LoadGenOptions>, LoadGenOptionsValidator>());
builder.Services.AddSingleton<LoadGenState>();
builder.Services.AddHostedService<LoadGenTwin>();
builder.Services.AddHostedService<LoadGenService>();
await builder.Build().RunAsync().ConfigureAwait(false);
