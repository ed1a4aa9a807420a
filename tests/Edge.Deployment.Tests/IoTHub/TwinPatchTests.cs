using System.Text.Json.Nodes;
using Edge.Deployment.IoTHub;

namespace Edge.Deployment.Tests.IoTHub;

public sealed class TwinPatchTests
{
    [Fact]
    public void Parse_JsonValuesDottedKeysAndNull_MergePatch()
    {
        var patch = TwinPatch.Parse([
            "thresholds.minScore=0.7", "thresholds.maxDetections=10", "model.name=yolo", "enabled=true", "obsolete=null",
            "cameras=[{\"id\":\"cam1\",\"fps\":10}]", "label=hello world", "quoted=\"42\"", "empty=",
        ]);
        JsonNode.DeepEquals(patch, JsonNode.Parse("""
            {"thresholds":{"minScore":0.7,"maxDetections":10},"model":{"name":"yolo"},"enabled":true,"obsolete":null,
             "cameras":[{"id":"cam1","fps":10}],"label":"hello world","quoted":"42","empty":""}
            """)).ShouldBeTrue(patch.ToJsonString());
    }

    [Theory]
    [InlineData("novalue")]
    [InlineData("=1")]
    [InlineData("a..b=1")]
    [InlineData("$version=1")]
    [InlineData("a b=1")]
    public void Parse_BadAssignment_FormatException(string assignment)
    {
        Should.Throw<FormatException>(() => TwinPatch.Parse([assignment]));
    }

    [Fact]
    public void Parse_ConflictingPaths_FormatException()
    {
        Should.Throw<FormatException>(() => TwinPatch.Parse(["a=1", "a.b=2"])).Message.ShouldContain("conflicts");
        Should.Throw<FormatException>(() => TwinPatch.Parse(["a.b=1", "a=2"])).Message.ShouldContain("conflicts");
    }
}
