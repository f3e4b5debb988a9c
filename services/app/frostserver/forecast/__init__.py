"""The frost forecast: a sensor's recent trend, and when it reaches the frost threshold.

- trend.py: the Theil-Sen estimator, a straight line that a gust or a spike hardly moves;
- frost.py: FrostForecaster, which the sampler feeds each sample and which says, per forecast
  sensor, when its trend reaches the frost threshold within the lead time, or why not;
- replay.py (`python -m frostserver.forecast replay FILE.csv`): the same forecast and the same
  frost_expected rule over a CSV of recorded temperatures, to tune the window and lead time.
"""
