using Airlock.Policy.Http;

namespace Airlock.Policy.Tests.Http;

public class QueryParameterNamesTests
{
    [Theory]
    [InlineData("ref", "ref", true)]
    [InlineData("REF", "ref", true)]
    [InlineData("Ref", "rEF", true)]
    [InlineData("ref[]", "ref", true)]
    [InlineData("ref[a][b]", "ref", true)]
    [InlineData("ref[", "ref", true)]
    [InlineData("  ref", "ref", true)]
    [InlineData("per.page", "per_page", true)]
    [InlineData("per page", "per_page", true)]
    [InlineData("per_page", "per.page", true)]
    [InlineData("refs", "ref", false)]
    [InlineData("re", "ref", false)]
    [InlineData("ref ", "ref", false)]
    [InlineData("xref", "ref", false)]
    [InlineData("", "ref", false)]
    [InlineData("[]", "ref", false)]
    [InlineData("perpage", "per_page", false)]
    public void Folds_names_as_lenient_frameworks_do(string received, string constrained, bool expected)
    {
        Assert.Equal(expected, QueryParameterNames.MayBeReadAs(received, constrained));
    }
}
