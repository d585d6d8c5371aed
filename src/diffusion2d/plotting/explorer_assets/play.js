// The explorer's Play/Pause button (CustomJS code of diffusion2d.plotting.explorer).
// Arguments: play (the button), time (the slider), DT (milliseconds per step). Steps t down
// to 0 from where it is; the timer lives on the button's model, so a second click (or t = 0)
// stops it.
const stop = () => { clearInterval(play.explorer_timer); play.explorer_timer = null;
                     play.label = "Play"; };
if (play.explorer_timer) { stop(); return; }
if (time.value <= time.start) time.value = time.end;  // at x_0: start again from x_T
play.label = "Pause";
play.explorer_timer = setInterval(() => {
  time.value = Math.max(time.start, time.value - 1);
  if (time.value <= time.start) stop();
}, DT);
