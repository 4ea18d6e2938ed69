using Okap.Core.Accounts;

namespace Okap.Core.Tests.Accounts;

public sealed class PasswordPolicyTests
{
    [Theory]
    [InlineData("correct horse battery")]
    [InlineData("Tr0ub4dor&3-violet-kettle")]
    [InlineData("my cat sleeps on the stove")]
    [InlineData("vq7#Lm2!pZ9rT")]
    [InlineData("Password manager generated: k9Fw")]
    public void Long_uncommon_passwords_are_accepted(string password) => Assert.Null(PasswordPolicy.Check(password, "alice"));

    [Theory]
    [InlineData("short1!A")]
    [InlineData("")]
    [InlineData(null)]
    public void Passwords_shorter_than_twelve_characters_are_refused(string? password) =>
        Assert.Contains("12 to 256 characters", PasswordPolicy.Check(password, "alice"));

    [Fact]
    public void Passwords_longer_than_256_characters_are_refused() =>
        Assert.Contains("12 to 256 characters", PasswordPolicy.Check(new string('x', 200) + "correct horse battery staple " + new string('y', 40), "alice"));

    [Theory]
    [InlineData("Password123!")]
    [InlineData("P@ssw0rd2024!!")]
    [InlineData("password1234")]
    [InlineData("iloveyou12345")]
    [InlineData("  Letmein!!!!2025")]
    [InlineData("Dragondragon1")]
    [InlineData("okapvault2026!")]
    [InlineData("$unsh1ne2024#")]
    [InlineData("passwordqwerty")]
    public void Common_passwords_with_digits_symbols_or_letter_swaps_are_refused(string password) =>
        Assert.Contains("common password", PasswordPolicy.Check(password, "alice"));

    [Theory]
    [InlineData("abcdefghijklmn")]
    [InlineData("qwertyuiop123")]
    [InlineData("zyxwvutsrqpon")]
    [InlineData("1qaz2wsx3edc4rfv")]
    [InlineData("asdfghjkl!!!!")]
    public void Keyboard_and_alphabet_runs_are_refused(string password) =>
        Assert.Contains("sequence", PasswordPolicy.Check(password, "alice"));

    [Theory]
    [InlineData("123456789012")]
    [InlineData("2024-12-31 11:59")]
    [InlineData("ab1234567890!")]
    public void Digits_and_symbols_around_at_most_a_short_word_are_refused(string password) =>
        Assert.Contains("only digits and symbols", PasswordPolicy.Check(password, "alice"));

    [Theory]
    [InlineData("aaaaaaaaaaaaaa")]
    [InlineData("abababababab")]
    public void Passwords_of_too_few_different_characters_are_refused(string password) =>
        Assert.Contains("too few different characters", PasswordPolicy.Check(password, "alice"));

    [Theory]
    [InlineData("abcxyzabcxyzabcxyz")]
    [InlineData("Tiger!Tiger!Tiger!")]
    public void A_short_piece_repeated_is_refused(string password) =>
        Assert.Contains("repeated", PasswordPolicy.Check(password, "alice"));

    [Theory]
    [InlineData("Margaret-2024-!!")]
    [InlineData("theMARGARETfiles")]
    [InlineData("m4rg4ret is my name")]
    public void Passwords_containing_the_user_name_are_refused(string password) =>
        Assert.Contains("user name", PasswordPolicy.Check(password, "margaret"));

    [Fact]
    public void A_refusal_never_quotes_the_password()
    {
        foreach (var password in new[] { "P@ssw0rd2024!!", "qwertyuiop123", "Margaret-2024-!!", "abababababab", "short" })
        {
            var reason = PasswordPolicy.Check(password, "margaret");
            Assert.NotNull(reason);
            Assert.DoesNotContain(password, reason, StringComparison.OrdinalIgnoreCase);
        }
    }
}
