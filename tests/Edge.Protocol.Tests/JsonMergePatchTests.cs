using System.Text.Json.Nodes;

namespace Edge.Protocol.Tests;

/// <summary>JSON merge patch (RFC 7396), the one implementation the hub's twins and the runtime's settings share.</summary>
public sealed class JsonMergePatchTests
{
    [Fact]
    public void Apply_SkipMetadata_NullDeletesNestedMergesDollarIgnored()
    {
        var target = JsonNode.Parse("""{"a":1,"b":{"x":1,"y":2},"c":3}""")!.AsObject();
        JsonMergePatch.Apply(target, JsonNode.Parse("""{"a":null,"b":{"y":null,"z":3,"$m":1},"d":[1],"$version":9}""")!.AsObject(), skipMetadata: true);
        target.ToJsonString().ShouldBe("""{"b":{"x":1,"z":3},"c":3,"d":[1]}""");
    }

    [Fact]
    public void Apply_Default_DollarKeysAreOrdinaryKeys()
    {
        var target = JsonNode.Parse("""{"a":{"x":1}}""")!.AsObject();
        JsonMergePatch.Apply(target, JsonNode.Parse("""{"a":{"$x":2},"$v":null,"$w":3}""")!.AsObject());
        target.ToJsonString().ShouldBe("""{"a":{"x":1,"$x":2},"$w":3}""");
    }

    [Fact]
    public void Apply_ObjectOverScalarAndArray_Replaces_PatchNotShared()
    {
        var target = JsonNode.Parse("""{"a":1,"b":[1,2]}""")!.AsObject();
        var patch = JsonNode.Parse("""{"a":{"n":{"m":null}},"b":{"k":true}}""")!.AsObject();

        JsonMergePatch.Apply(target, patch);
        patch["a"]!["n"]!["q"] = 5;

        // An object replacing a scalar or an array is copied as sent; the target keeps its own copy, not the patch's nodes.
        target.ToJsonString().ShouldBe("""{"a":{"n":{"m":null}},"b":{"k":true}}""");
    }
}
