using System.Net;
using Azure.Core;
using Azure.Identity;
using Edge.Deployment.IoTHub;

namespace Edge.Cli.Fleet;

/// <summary>
/// <c>--auth entra</c>: IoT Hub service tokens from Azure.Identity's <see cref="DefaultAzureCredential"/> (environment
/// variables, workload identity, managed identity, the Azure CLI's or Azure Developer CLI's sign-in, ...). The identity
/// needs an IoT Hub data-plane role on the hub (e.g. "IoT Hub Registry Contributor", "IoT Hub Twin Contributor").
/// Azure.Identity stays in the CLI: the modules never reference it.
/// </summary>
internal static class EntraTokenSource
{
    public static Func<string[], CancellationToken, ValueTask<IoTHubAccessToken>> Create(TokenCredential? credential = null)
    {
        var c = credential ?? new DefaultAzureCredential();
        return async (scopes, ct) =>
        {
            try
            {
                var token = await c.GetTokenAsync(new TokenRequestContext(scopes), ct).ConfigureAwait(false);
                return new IoTHubAccessToken(token.Token, token.ExpiresOn);
            }
            catch (AuthenticationFailedException ex)
            {
                var first = ex.Message.Split('\n', 2)[0].Trim();
                throw new IoTHubException(HttpStatusCode.Unauthorized, null, $"Microsoft Entra ID sign-in failed ({first}); sign in with 'az login', or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET", null);
            }
        };
    }
}
