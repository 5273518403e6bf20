package proc

import "testing"

func TestTriple(t *testing.T) {
	for _, tc := range []struct{ goos, goarch, want string }{
		{"linux", "amd64", "x86_64-unknown-linux-gnu"},
		{"linux", "arm64", "aarch64-unknown-linux-gnu"},
		{"darwin", "arm64", "aarch64-apple-darwin"},
		{"darwin", "amd64", "x86_64-apple-darwin"},
		{"windows", "amd64", "x86_64-pc-windows-msvc"},
		{"plan9", "386", "386-unknown-plan9"},
	} {
		if got := Triple(tc.goos, tc.goarch); got != tc.want {
			t.Errorf("Triple(%s, %s) = %q, want %q", tc.goos, tc.goarch, got, tc.want)
		}
	}
}
