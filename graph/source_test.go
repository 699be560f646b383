package graph

import "testing"

func TestIsMailClass(t *testing.T) {
	for _, tc := range []struct {
		class string
		mail  bool
	}{
		{"", true}, // no class given: kept
		{"IPM.Note", true},
		{"ipm.note", true},
		{"IPM.Note.SMIME.MultipartSigned", true},
		{"IPM.Schedule.Meeting.Request", true},
		{"IPM.Schedule.Meeting.Resp.Pos", true},
		{"IPM.Schedule.Meeting.Canceled", true},
		{"IPM.TaskRequest", true},
		{"REPORT.IPM.Note.NDR", true},
		{"IPM.StickyNote", false},
		{"IPM.Task", false},
		{"ipm.task", false},
		{"IPM.Appointment", false},
		{"IPM.Appointment.Occurrence", false},
		{"IPM.Contact", false},
		{"IPM.DistList", false},
		{"IPM.Activity", false},
		{"IPM.SkypeTeams.Message", false},
		{"IPM.SkypeTeams.Message.Copilot.Teams", false},
		{"IPM.SkypeTeamsX", true}, // a prefix only counts as a whole segment
	} {
		if got := IsMailClass(tc.class); got != tc.mail {
			t.Errorf("IsMailClass(%q) = %v, want %v", tc.class, got, tc.mail)
		}
		if got := (Message{ItemClass: tc.class}).IsMail(); got != tc.mail {
			t.Errorf("Message{ItemClass: %q}.IsMail() = %v, want %v", tc.class, got, tc.mail)
		}
	}
}
