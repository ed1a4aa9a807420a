using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Edge.Protocol;

namespace Edge.Hub;

/// <summary>What a running hub writes to <c>{state}/hub.json</c> at start so tools (<c>edge fault</c>, <c>edge hub inject</c>) can find it.</summary>
public sealed record HubInfo(
    [property: JsonPropertyName("deviceId")] string DeviceId,
    [property: JsonPropertyName("hubHostName")] string HubHostName,
    [property: JsonPropertyName("gatewayHostName")] string GatewayHostName,
    [property: JsonPropertyName("mqttPort")] int MqttPort,
    [property: JsonPropertyName("apiUri")] Uri ApiUri,
    [property: JsonPropertyName("caCertificatePath")] string CaCertificatePath,
    [property: JsonPropertyName("serviceConnectionString")] string ServiceConnectionString)
{
    public const string FileName = "hub.json";

    /// <summary>Reads <c>hub.json</c> from a state directory; throws <see cref="FileNotFoundException"/> when no hub ever started there.</summary>
    public static HubInfo Load(string stateDirectory)
    {
        var path = Path.Combine(stateDirectory, FileName);
        return JsonSerializer.Deserialize<HubInfo>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path} is empty");
    }

    /// <summary>The <c>SharedAccessKey</c> of <see cref="ServiceConnectionString"/>.</summary>
    public string PolicyKey => ServiceConnectionString.Split(';')
        .Select(p => p.Split('=', 2))
        .First(p => p[0] == "SharedAccessKey")[1];

    /// <summary>Sets <c>Authorization: SharedAccessSignature ...&amp;skn=iothubowner</c> on a request to the hub's API.</summary>
    public void Authorize(HttpRequestMessage request, TimeProvider time)
    {
        var token = SasToken.Create(WebUtility.UrlEncode(HubHostName), PolicyKey, time.GetUtcNow().AddHours(1), "iothubowner");
        request.Headers.Authorization = new AuthenticationHeaderValue("SharedAccessSignature", token.ToString()["SharedAccessSignature ".Length..]);
    }
}
