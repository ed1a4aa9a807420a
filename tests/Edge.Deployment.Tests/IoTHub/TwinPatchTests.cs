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
    [InlineData("runId=52224e611572", "\"52224e611572\"")]
    [InlineData("id=007", "\"007\"")]
    [InlineData("n=1e3", "\"1e3\"")]
    [InlineData("n=+5", "\"+5\"")]
    [InlineData("n=12345678901234567890", "\"12345678901234567890\"")]
    [InlineData("n=0.1234567890123456", "\"0.1234567890123456\"")]
    [InlineData("n=NaN", "\"NaN\"")]
    [InlineData("n=Infinity", "\"Infinity\"")]
    [InlineData("s=TRUE", "\"TRUE\"")]
    [InlineData("s=1.", "\"1.\"")]
    [InlineData("s=hello world", "\"hello world\"")]
    [InlineData("n=42", "42")]
    [InlineData("n=-3", "-3")]
    [InlineData("n=0", "0")]
    [InlineData("n=0.75", "0.75")]
    [InlineData("n=-12.5", "-12.5")]
    [InlineData("n=123456789012345", "123456789012345")]
    [InlineData("n=9223372036854775807", "\"9223372036854775807\"")]
    [InlineData("b=true", "true")]
    [InlineData("b=false", "false")]
    [InlineData("s=\"42\"", "\"42\"")]
    [InlineData("o={\"a\": [1, \"x\"]}", "{\"a\":[1,\"x\"]}")]
    [InlineData("a=[]", "[]")]
    public void Parse_Value_StringUnlessPlainlyJson(string assignment, string expectedJson)
    {
        var key = assignment[..assignment.IndexOf('=', StringComparison.Ordinal)];

        var patch = TwinPatch.Parse([assignment]);

        JsonNode.DeepEquals(patch[key], JsonNode.Parse(expectedJson)).ShouldBeTrue(patch.ToJsonString());
        patch[key]!.GetValueKind().ShouldBe(JsonNode.Parse(expectedJson)!.GetValueKind());
    }

    [Theory]
    [InlineData("a={bad")]
    [InlineData("a=[1,")]
    [InlineData("a=\"unterminated")]
    public void Parse_StartsLikeJsonButInvalid_FormatExceptionSayingHowToQuote(string assignment)
    {
        Should.Throw<FormatException>(() => TwinPatch.Parse([assignment])).Message.ShouldContain("quote it as a JSON string");
    }

    [Fact]
    public void Parse_Json_EveryValueIsJson()
    {
        var patch = TwinPatch.Parse(["n=1e3", "s=\"52224e611572\"", "o={\"x\":1}", "gone=null"], json: true);

        JsonNode.DeepEquals(patch, JsonNode.Parse("""{"n":1e3,"s":"52224e611572","o":{"x":1},"gone":null}""")).ShouldBeTrue(patch.ToJsonString());
        Should.Throw<FormatException>(() => TwinPatch.Parse(["s=text"], json: true)).Message.ShouldContain("a string needs quotes");
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
