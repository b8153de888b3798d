import pytest

from rklab.errors import RklabError
from rklab.measure.prompts import BASE_TEXT, approx_text_prompt, exact_token_prompt


def word_tokenizer(bos=None):
    vocab = {}

    def tok(text):
        ids = [vocab.setdefault(w, len(vocab) + 10) for w in text.split()]
        return ([bos] if bos is not None else []) + ids
    return tok


@pytest.mark.parametrize("n", [1, 7, 128, 512, 1024, 3000])
def test_exact_length_with_a_word_tokenizer(n):
    ids = exact_token_prompt(word_tokenizer(bos=1), n)
    assert len(ids) == n
    assert ids[0] == 1
    assert ids.count(1) == 1  # one BOS, at the start


def test_exact_length_with_the_demo_tokenizer(demo_gguf):
    from rklab.measure.runtimes.llamacpp import LlamaCpp

    with LlamaCpp(demo_gguf, max_context=256, n_threads=1) as b:
        for n in (5, 128, 1024):
            ids = exact_token_prompt(b.tokenize, n)
            assert len(ids) == n
            assert ids[:5] == b.tokenize(BASE_TEXT)[:5]


def test_bad_inputs():
    with pytest.raises(RklabError):
        exact_token_prompt(word_tokenizer(), 0)
    with pytest.raises(RklabError, match="cannot tokenize"):
        exact_token_prompt(lambda t: None, 10)
    with pytest.raises(RklabError):
        exact_token_prompt(word_tokenizer(), 10, text="   ")


def test_approx_text_prompt_word_count():
    assert len(approx_text_prompt(128).split()) == 96
    assert len(approx_text_prompt(100, words_per_token=0.5).split()) == 50
    assert approx_text_prompt(4).split() == BASE_TEXT.split()[:3]
