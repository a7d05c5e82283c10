package manifest

import (
	"reflect"
	"testing"
)

func TestSplitDocuments(t *testing.T) {
	type doc struct {
		Text      string
		FirstLine int
	}
	tests := []struct {
		name string
		in   string
		want []doc
	}{
		{name: "empty", in: "", want: nil},
		{name: "only comments and blanks", in: "# hello\n\n  # indented\n", want: nil},
		{name: "single document", in: "a: 1\nb: 2\n", want: []doc{{"a: 1\nb: 2\n", 1}}},
		{name: "no trailing newline", in: "a: 1", want: []doc{{"a: 1", 1}}},
		{
			name: "leading marker does not count a document",
			in:   "---\na: 1\n",
			want: []doc{{"   \na: 1\n", 1}},
		},
		{
			name: "two documents and an empty one between",
			in:   "a: 1\n---\n# nothing\n---\nb: 2\n",
			want: []doc{{"a: 1\n", 1}, {"   \nb: 2\n", 4}},
		},
		{
			name: "marker with comment",
			in:   "a: 1\n--- # next\nb: 2\n",
			want: []doc{{"a: 1\n", 1}, {"    # next\nb: 2\n", 2}},
		},
		{
			name: "content after the marker starts the next document",
			in:   "a: 1\n--- {b: 2}\n",
			want: []doc{{"a: 1\n", 1}, {"    {b: 2}\n", 2}},
		},
		{
			name: "CRLF marker",
			in:   "a: 1\r\n---\r\nb: 2\r\n",
			want: []doc{{"a: 1\r\n", 1}, {"   \r\nb: 2\r\n", 2}},
		},
		{
			name: "four dashes and indented dashes are content",
			in:   "a: |\n  ---\n----: x\n",
			want: []doc{{"a: |\n  ---\n----: x\n", 1}},
		},
		{
			name: "document end marker ends a document without ---",
			in:   "a: 1\n...\nb: 2\n... # end\n",
			want: []doc{{"a: 1\n", 1}, {"\nb: 2\n", 2}},
		},
		{
			name: "four dots are content",
			in:   "a: 1\n....\n",
			want: []doc{{"a: 1\n....\n", 1}},
		},
		{
			name: "document end marker alone is empty",
			in:   "a: 1\n---\n...\n",
			want: []doc{{"a: 1\n", 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []doc
			for _, c := range splitDocuments([]byte(tt.in)) {
				got = append(got, doc{string(c.text), c.firstLine})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitDocuments(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}
