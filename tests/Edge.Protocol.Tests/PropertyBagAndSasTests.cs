namespace Edge.Protocol.Tests;

/// <summary>Property bags and SAS tokens: the encodings IoT Hub and edgeHub expect.</summary>
public sealed class PropertyBagAndSasTests
{
    [Fact]
    public void Encode_EscapesAndKeepsOrder_DecodeRoundTrips()
    {
        List<KeyValuePair<string, string?>> pairs = [new("$.ct", "application/json"), new("a b", "x&y=z"), new("flag", null), new("e", "")];

        var bag = PropertyBag.Encode(pairs);

        bag.ShouldBe("%24.ct=application%2Fjson&a%20b=x%26y%3Dz&flag&e=");
        PropertyBag.TryDecode(bag, out var back).ShouldBeTrue();
        back.ShouldBe(pairs);
    }

    [Theory]
    [InlineData("=v")]
    [InlineData("a=1=2")]
    [InlineData("a=1&=2")]
    public void TryDecode_Malformed_FalseAndNoPairs(string bag)
    {
        PropertyBag.TryDecode(bag, out var pairs).ShouldBeFalse();
        pairs.ShouldBeEmpty();
    }

    [Fact]
    public void SasToken_CreateParseVerify_RoundTrip()
    {
        var key = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        var resource = SasToken.ModuleResource("hub.example", "dev 1", "mod/1");
        var token = SasToken.Create(resource, key, DateTimeOffset.FromUnixTimeSeconds(1_900_000_000));

        var wire = token.ToString();

        wire.ShouldStartWith("SharedAccessSignature sr=hub.example%2Fdevices%2Fdev%2B1%2Fmodules%2Fmod%252F1&sig=");
        wire.ShouldEndWith("&se=1900000000");
        SasToken.TryParse(wire, out var parsed, out var error).ShouldBeTrue(error);
        parsed.ShouldBe(token);
        parsed!.IsSignedWith(key).ShouldBeTrue();
        parsed.IsSignedWith(Convert.ToBase64String(new byte[32])).ShouldBeFalse();
        parsed.DecodedResource.ShouldBe("hub.example/devices/dev+1/modules/mod%2F1");
    }

    [Theory]
    [InlineData(null, "not a SharedAccessSignature")]
    [InlineData("Bearer x", "not a SharedAccessSignature")]
    [InlineData("SharedAccessSignature sr=a&sig=b", "missing sr, sig or se")]
    [InlineData("SharedAccessSignature sr=a&sig=b&se=soon", "se is not a number")]
    [InlineData("SharedAccessSignature sr=a&junk", "malformed field 'junk'")]
    public void SasToken_TryParse_Malformed_SaysWhy(string? value, string why)
    {
        SasToken.TryParse(value, out var token, out var error).ShouldBeFalse();
        token.ShouldBeNull();
        error.ShouldBe(why);
    }
}
