using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Edge.Hub.Cloud;

namespace Edge.Hub.Tests;

/// <summary>If-Match on module twin updates: <c>"*"</c>, as the service SDK sends it for a forced update, is a wildcard.</summary>
public sealed class CloudApiIfMatchTests
{
    [Theory]
    [InlineData("*", "\"AAAA\"", true)]
    [InlineData("\"*\"", "\"AAAA\"", true)]
    [InlineData(" \"*\" ", "AAAA", true)]
    [InlineData("\"AAAA\"", "\"AAAA\"", true)]
    [InlineData("AAAA", "\"AAAA\"", true)]
    [InlineData("W/\"AAAA\"", "\"AAAA\"", true)]
    [InlineData("\"BBBB\"", "\"AAAA\"", false)]
    [InlineData("\"**\"", "\"AAAA\"", false)]
    public void IfMatches_Header_MatchesAsIotHubDoes(string header, string etag, bool expected) =>
        CloudApi.IfMatches(header, etag).ShouldBe(expected);

    [Theory]
    [InlineData("\"*\"")]
    [InlineData("*")]
    public async Task TwinPatch_IfMatchWildcard_AppliesWhateverTheETag(string ifMatch)
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(("all", "FROM /messages/* INTO $upstream", null, null)), 7200, "filter"));
        using var http = HubTestHost.Http(host.Sim.ApiUri);

        var patch = host.Request(HttpMethod.Patch, "twins/dev1/modules/filter?api-version=2021-04-12",
            JsonContent.Create(new JsonObject { ["properties"] = new JsonObject { ["desired"] = new JsonObject { ["threshold"] = 0.4 } } }));
        patch.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        using var response = await http.SendAsync(patch, HubTestHost.Ct);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await host.Sim.GetModuleTwinAsync("filter", HubTestHost.Ct))["desired"]!["threshold"]!.GetValue<double>().ShouldBe(0.4);
    }
}
