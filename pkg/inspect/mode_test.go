package inspect

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
)

// TestFileJSON: modes are written as ls shows them, with the permission
// bits in octal, not as fs.FileMode's integer; they read back the same.
func TestFileJSON(t *testing.T) {
	for _, tc := range []struct {
		mode       fs.FileMode
		text, perm string
	}{
		{fs.ModeDir | 0o755, "drwxr-xr-x", "0755"},
		{0o644, "-rw-r--r--", "0644"},
		{fs.ModeSymlink | 0o777, "Lrwxrwxrwx", "0777"},
		{fs.ModeSetuid | 0o755, "urwxr-xr-x", "4755"},
		{fs.ModeDir | fs.ModeSticky | 0o777, "dtrwxrwxrwx", "1777"},
		{fs.ModeDevice | fs.ModeCharDevice | 0o666, "Dcrw-rw-rw-", "0666"},
	} {
		b, err := json.Marshal(File{Path: "/x", Mode: tc.mode, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"path":"/x","mode":"` + tc.text + `","perm":"` + tc.perm + `","size":1,"uid":0,"gid":0}`
		if string(b) != want {
			t.Errorf("%v: %s, want %s", tc.mode, b, want)
		}
		var f File
		if err := json.Unmarshal(b, &f); err != nil || f.Mode != tc.mode || f.Path != "/x" || f.Size != 1 {
			t.Errorf("%s read back as %+v, %v", b, f, err)
		}
	}
	for _, bad := range []string{"", "rwxr-xr-x", "xrwxr-xr-x", "ddrwxr-xr-x", "Ldrwxr-xr-x", "-rwxr-xr-y", "-rwxr-xr-xx", "2147484141"} {
		if m, err := ParseMode(bad); err == nil {
			t.Errorf("ParseMode(%q) = %v, want an error", bad, m)
		}
	}
	// A long mode is cut in the message.
	long := strings.Repeat("r", 1000)
	if _, err := ParseMode(long); err == nil || !strings.Contains(err.Error(), `file mode "`+long[:64]+`"... (1000 bytes) is not`) {
		t.Errorf("ParseMode of 1000 bytes: %.200v", err)
	}
	var f File
	if err := json.Unmarshal([]byte(`{"path":"/x","mode":2147484141}`), &f); err == nil {
		t.Errorf("a numeric mode read as %v", f.Mode)
	}
}
