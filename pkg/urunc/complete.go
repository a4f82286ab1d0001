package urunc

import "slices"

// GuestsOn returns the guests to offer beside monitor, in Guests order:
// those monitor runs, or every guest when monitor is none urunc knows (not
// chosen yet). Shell completion of bunix init's --type uses it.
func GuestsOn(monitor string) []string {
	if _, known := Monitors[monitor]; !known {
		return slices.Clone(Guests)
	}
	var out []string
	for _, g := range Guests {
		if Runs(g, monitor) {
			out = append(out, g)
		}
	}
	return out
}

// MonitorsOffered returns the monitors to offer beside guest, in
// MonitorNames order: those that run guest (MonitorsFor), or every monitor
// when guest is none urunc knows (not chosen yet). Shell completion of
// bunix init's --hypervisor uses it.
func MonitorsOffered(guest string) []string {
	if !slices.Contains(Guests, guest) {
		return MonitorNames()
	}
	return MonitorsFor(guest)
}
