using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;

namespace Edge.Deployment.Tests.Manifests;

public sealed class CreateOptionsTests
{
    private static JsonObject Settings(JsonNode createOptions) => new() { ["image"] = "x:1", ["createOptions"] = createOptions, ["after"] = 1 };

    [Fact]
    public void Normalize_Object_CompactString()
    {
        var s = Settings(new JsonObject { ["HostConfig"] = new JsonObject { ["Binds"] = new JsonArray("/a:/b") }, ["Env"] = new JsonArray("A=B+C<D>") });
        CreateOptions.Normalize(s, "$", []);
        s["createOptions"]!.GetValue<string>().ShouldBe("{\"HostConfig\":{\"Binds\":[\"/a:/b\"]},\"Env\":[\"A=B+C<D>\"]}");
    }

    [Theory]
    [InlineData(512, 1)]
    [InlineData(513, 2)]
    [InlineData(1024, 2)]
    [InlineData(1025, 3)]
    [InlineData(4096, 8)]
    public void Normalize_LongString_ChunksOf512InOrderRightAfterCreateOptions(int length, int chunks)
    {
        var text = new string('x', length);
        var s = Settings(text);
        var problems = new List<ManifestProblem>();
        CreateOptions.Normalize(s, "$", problems);
        problems.ShouldBeEmpty();
        var keys = s.Select(p => p.Key).ToList();
        keys.ShouldBe(new[] { "image" }.Concat(Enumerable.Range(0, chunks).Select(CreateOptions.KeyOf)).Append("after").ToList());
        s.Where(p => p.Key.StartsWith("createOptions", StringComparison.Ordinal)).All(p => p.Value!.GetValue<string>().Length <= 512).ShouldBeTrue();
        CreateOptions.Join(s, "$", problems).ShouldBe(text);
        problems.ShouldBeEmpty();
    }

    [Fact]
    public void Normalize_MoreThanEightChunks_WarnsButKeepsAll()
    {
        var s = Settings(new string('y', 512 * 9));
        var problems = new List<ManifestProblem>();
        CreateOptions.Normalize(s, "$.m.settings", problems);
        problems.Single().Severity.ShouldBe(ManifestSeverity.Warning);
        problems.Single().Path.ShouldBe("$.m.settings.createOptions");
        s.ContainsKey("createOptions08").ShouldBeTrue();
    }

    [Fact]
    public void Normalize_MoreThanAgentReads_Error()
    {
        var problems = new List<ManifestProblem>();
        CreateOptions.Normalize(Settings(new string('z', (512 * 100) + 1)), "$", problems);
        problems.Single().Severity.ShouldBe(ManifestSeverity.Error);
    }

    [Fact]
    public void Split_NeverSplitsASurrogatePair()
    {
        var text = new string('a', 511) + "😀" + "b";
        var chunks = CreateOptions.Split(text);
        chunks[0].Length.ShouldBe(511);
        string.Concat(chunks).ShouldBe(text);
    }

    [Fact]
    public void Join_GapNonStringAndOverlong_EachReported()
    {
        var s = new JsonObject
        {
            ["createOptions"] = new string('a', 4097),
            ["createOptions01"] = "b",
            ["createOptions03"] = "c",
            ["createOptions04"] = new JsonObject(),
            ["createOptionsX"] = "d",
        };
        var problems = new List<ManifestProblem>();
        CreateOptions.Join(s, "$.s", problems);
        problems.Select(p => p.Path).ShouldBe(["$.s.createOptionsX", "$.s.createOptions", "$.s.createOptions03", "$.s.createOptions04"], ignoreOrder: true);
        problems.ShouldAllBe(p => p.Severity == ManifestSeverity.Error);
    }

    [Fact]
    public void Join_NoCreateOptions_Null()
    {
        CreateOptions.Join(new JsonObject { ["image"] = "x" }, "$", []).ShouldBeNull();
    }
}
