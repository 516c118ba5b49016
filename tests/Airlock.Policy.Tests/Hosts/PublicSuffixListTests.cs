using Airlock.Policy.Hosts;

namespace Airlock.Policy.Tests.Hosts;

public class PublicSuffixListTests
{
    [Theory]
    [InlineData("com", true)]
    [InlineData("uk", true)]
    [InlineData("co.uk", true)]
    [InlineData("gov.uk", true)]
    [InlineData("example.co.uk", false)]
    [InlineData("example.com", false)]
    // The embedded list is the ICANN section only: private-section suffixes are ordinary domains.
    [InlineData("github.io", false)]
    [InlineData("io", true)]
    // Wildcard rule "*.ck" and its exception "!www.ck".
    [InlineData("ck", true)]
    [InlineData("foo.ck", true)]
    [InlineData("www.ck", false)]
    [InlineData("a.foo.ck", false)]
    // Wildcard rule "*.kawasaki.jp" and exception "!city.kawasaki.jp".
    [InlineData("foo.kawasaki.jp", true)]
    [InlineData("city.kawasaki.jp", false)]
    [InlineData("kawasaki.jp", false)]
    // Unicode rules are held in punycode ("公司.cn").
    [InlineData("xn--55qx5d.cn", true)]
    // The implicit "*" rule: any single label is a public suffix.
    [InlineData("notarealtld", true)]
    public void Icann_list_answers_the_PSL_algorithm(string name, bool expected) =>
        Assert.Equal(expected, PublicSuffixList.Icann.IsPublicSuffix(name));

    [Theory]
    [InlineData("kawasaki.jp", true)]
    [InlineData("jp", true)]
    [InlineData("sch.uk", true)]
    [InlineData("uk", true)]
    [InlineData("example.com", false)]
    [InlineData("city.kawasaki.jp", false)]
    [InlineData("example.co.uk", false)]
    public void Names_with_public_suffixes_below_them_are_known(string name, bool expected) =>
        Assert.Equal(expected, PublicSuffixList.Icann.HasPublicSuffixBelow(name));

    [Fact]
    public void Parse_reads_standard_syntax()
    {
        const string Text = """
            // comment
            test
            co.test  trailing text is ignored
            *.wild.test
            !keep.wild.test
            bücher.test

            """;
        var list = PublicSuffixList.Parse(Text);
        Assert.True(list.IsPublicSuffix("test"));
        Assert.True(list.IsPublicSuffix("co.test"));
        Assert.False(list.IsPublicSuffix("example.co.test"));
        Assert.True(list.IsPublicSuffix("any.wild.test"));
        Assert.False(list.IsPublicSuffix("keep.wild.test"));
        Assert.False(list.IsPublicSuffix("wild.test"));
        Assert.True(list.HasPublicSuffixBelow("wild.test"));
        Assert.True(list.IsPublicSuffix("xn--bcher-kva.test"));
    }
}
