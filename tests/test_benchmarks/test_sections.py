"""benchmarks.sections: the one writer of the documents' generated sections."""
import pytest

from benchmarks.sections import markers, read_section, replace_section, write_section


def test_replace_section_keeps_hand_written_text():
    text = 'intro\n<!-- BEGIN t -->\nold\n<!-- END t -->\noutro\n'
    out = replace_section(text, 't', 'new')
    assert out == 'intro\n<!-- BEGIN t -->\nnew\n<!-- END t -->\noutro\n'
    assert read_section(out, 't') == 'new'
    assert replace_section(out, 't', 'newer').count('<!-- BEGIN t -->') == 1


def test_a_missing_section_is_an_error_unless_told_where_it_goes(tmp_path):
    path = tmp_path / 'plain.md'
    path.write_text('# no markers here\n')
    with pytest.raises(ValueError, match='plain.md: no "<!-- BEGIN camvid -->"'):
        write_section(str(path), 'camvid', 'x')
    with pytest.raises(ValueError, match='no "<!-- BEGIN t -->"'):
        read_section('text', 't')


def test_a_new_section_goes_after_the_last_one_of_its_kind(tmp_path):
    path = tmp_path / 'README.md'
    first, second = markers('ablation-e5-b4'), markers('ablation-e30-b4')
    path.write_text(f'# intro\n{first[0]}\nold table\n{first[1]}\n## after\n')
    write_section(str(path), 'ablation-e30-b4', 'new table', after='<!-- END ablation-')
    assert path.read_text() == (f'# intro\n{first[0]}\nold table\n{first[1]}\n\n'
                                f'{second[0]}\nnew table\n{second[1]}\n## after\n')
    write_section(str(path), 'ablation-e30-b4', 'newer table', after='<!-- END ablation-')
    assert 'newer table' in path.read_text() and 'new table\n' not in path.read_text()
    plain = tmp_path / 'plain.md'
    plain.write_text('text')  # no section yet, no newline at the end
    write_section(str(plain), 'ablation-e30-b4', 'table', after='<!-- END ablation-')
    assert plain.read_text() == f'text\n\n{second[0]}\ntable\n{second[1]}\n'
    new = tmp_path / 'new.md'  # a document that does not exist yet
    write_section(str(new), 's', 'body', after='<!-- END ')
    assert new.read_text() == '<!-- BEGIN s -->\nbody\n<!-- END s -->\n'
