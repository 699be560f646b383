package main

import "testing"

func TestSpaceStatus(t *testing.T) {
	for _, tc := range []struct {
		free uint64
		want string
	}{
		{0, statusFail},
		{freeSpaceFail - 1, statusFail},
		{freeSpaceFail, statusWarn},
		{freeSpaceWarn - 1, statusWarn},
		{freeSpaceWarn, statusOK},
		{1 << 40, statusOK},
	} {
		got, fix := spaceStatus(tc.free)
		if got != tc.want || (got == statusOK) != (fix == "") {
			t.Errorf("spaceStatus(%d) = %q, %q; want %q, with a fix unless ok", tc.free, got, fix, tc.want)
		}
	}
}
