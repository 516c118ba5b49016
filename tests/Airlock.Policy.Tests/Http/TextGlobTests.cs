using Airlock.Policy.Http;

namespace Airlock.Policy.Tests.Http;

public class TextGlobTests
{
    [Theory]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    [InlineData("abc", "abc", true)]
    [InlineData("abc", "ABC", false)]
    [InlineData("abc", "abcd", false)]
    [InlineData("*", "", true)]
    [InlineData("*", "anything", true)]
    [InlineData("**", "x", true)]
    [InlineData("a*", "a", true)]
    [InlineData("a*", "ab", true)]
    [InlineData("a*", "ba", false)]
    [InlineData("*a", "ba", true)]
    [InlineData("*a", "ab", false)]
    [InlineData("a*a", "a", false)]
    [InlineData("a*a", "aa", true)]
    [InlineData("a*a", "aba", true)]
    [InlineData("*ab*ab*", "abab", true)]
    [InlineData("*ab*ab*", "aba", false)]
    [InlineData("*ab*ab*", "xxabyyabzz", true)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "acb", false)]
    [InlineData("a*b*c", "abcbc", true)]
    [InlineData("*.tar.gz", "x.tar.gz", true)]
    [InlineData("*.tar.gz", "x.tar.gz.sig", false)]
    [InlineData("v*-rc*", "v1.0-rc2", true)]
    [InlineData("v*-rc*", "v1.0", false)]
    public void Matches_text(string glob, string text, bool expected)
    {
        Assert.Equal(expected, TextGlob.Parse(glob).Matches(text));
    }

    [Fact]
    public void Is_linear_on_pathological_input()
    {
        var glob = TextGlob.Parse(string.Concat(Enumerable.Repeat("a*", 200)) + "b");

        Assert.False(glob.Matches(new string('a', 100000)));
        Assert.True(glob.Matches(new string('a', 100000) + "b"));
    }
}
